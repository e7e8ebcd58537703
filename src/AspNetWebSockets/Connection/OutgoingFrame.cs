using System.Buffers;
using System.IO.Pipelines;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets;

/// <summary>
/// What a send writes under the write lock: a payload to frame (a span, with its FIN and RSV bits, or a multi-segment
/// sequence as one frame), or the finished bytes of a frame prepared once for many connections.
/// </summary>
internal readonly struct OutgoingFrame
{
    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly ReadOnlySequence<byte> _sequence;
    private readonly byte _shape;
    private readonly byte _reservedBits;
    private readonly bool _fin;

    private const byte Payload = 0;
    private const byte Sequence = 1;
    private const byte Prepared = 2;

    private OutgoingFrame(byte shape, WebSocketOpcode opcode, bool fin, byte reservedBits, ReadOnlyMemory<byte> bytes, ReadOnlySequence<byte> sequence, long payloadLength)
    {
        _shape = shape;
        Opcode = opcode;
        _fin = fin;
        _reservedBits = reservedBits;
        _bytes = bytes;
        _sequence = sequence;
        PayloadLength = payloadLength;
    }

    /// <summary>The frame's opcode (a prepared frame's bytes carry their own: then <see cref="WebSocketOpcode.Continuation"/>).</summary>
    public WebSocketOpcode Opcode { get; }

    /// <summary>The payload bytes the message carries (what <see cref="WebSocketConnection.BufferedAmount"/> and the metrics count).</summary>
    public long PayloadLength { get; }

    /// <summary>The payload of a frame made by <see cref="ForPayload"/>.</summary>
    public ReadOnlyMemory<byte> PayloadBytes => _bytes;

    /// <summary>Whether the peer answers this frame (a ping or a close), so it must not wait in a cork.</summary>
    public bool AwaitsAnswer => _shape == Payload && Opcode is WebSocketOpcode.Ping or WebSocketOpcode.Close;

    public static OutgoingFrame ForPayload(WebSocketOpcode opcode, ReadOnlyMemory<byte> payload, bool fin = true, byte reservedBits = 0) =>
        new(Payload, opcode, fin, reservedBits, payload, default, payload.Length);

    public static OutgoingFrame ForSequence(WebSocketOpcode opcode, in ReadOnlySequence<byte> payload) =>
        new(Sequence, opcode, true, 0, default, payload, payload.Length);

    /// <summary>
    /// A message framed once for many connections, as <paramref name="protocol"/>'s connection sends it: the shared bytes
    /// (see <see cref="WebSocketProtocol.PreparedFrameFor"/>), or — a client must mask — its payload, framed here.
    /// </summary>
    public static OutgoingFrame ForPrepared(PreparedMessage message, WebSocketProtocol protocol) =>
        protocol.Role == WebSocketRole.Server
            ? new(Prepared, default, true, 0, protocol.PreparedFrameFor(message), default, message.PayloadLength)
            : ForPayload(message.Opcode, message.Payload);

    public void WriteTo(PipeWriter output, WebSocketProtocol protocol)
    {
        switch (_shape)
        {
            case Payload:
                protocol.WriteFrame(output, Opcode, _fin, _reservedBits, _bytes.Span);
                break;
            case Sequence:
                protocol.WriteFrame(output, Opcode, _sequence);
                break;
            default:
                output.Write(_bytes.Span);
                break;
        }
    }
}
