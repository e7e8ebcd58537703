using System.Buffers;
using System.IO.Pipelines;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets;

/// <summary>
/// What a whole-message send writes under the locks: a payload to frame (a span or a multi-segment sequence), or the
/// finished bytes of a frame prepared once for many connections.
/// </summary>
internal readonly struct OutgoingFrame
{
    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly ReadOnlySequence<byte> _sequence;
    private readonly WebSocketOpcode _opcode;
    private readonly byte _shape;

    private const byte Payload = 0;
    private const byte Sequence = 1;
    private const byte Prepared = 2;

    private OutgoingFrame(byte shape, WebSocketOpcode opcode, ReadOnlyMemory<byte> bytes, ReadOnlySequence<byte> sequence, long payloadLength)
    {
        _shape = shape;
        _opcode = opcode;
        _bytes = bytes;
        _sequence = sequence;
        PayloadLength = payloadLength;
    }

    /// <summary>The payload bytes the message carries (what <see cref="WebSocketConnection.BufferedAmount"/> and the metrics count).</summary>
    public long PayloadLength { get; }

    public static OutgoingFrame ForPayload(WebSocketOpcode opcode, ReadOnlyMemory<byte> payload) =>
        new(Payload, opcode, payload, default, payload.Length);

    public static OutgoingFrame ForSequence(WebSocketOpcode opcode, in ReadOnlySequence<byte> payload) =>
        new(Sequence, opcode, default, payload, payload.Length);

    public static OutgoingFrame ForPrepared(ReadOnlyMemory<byte> frame, int payloadLength) =>
        new(Prepared, default, frame, default, payloadLength);

    public void WriteTo(PipeWriter output, WebSocketProtocol protocol)
    {
        switch (_shape)
        {
            case Payload:
                protocol.WriteFrame(output, _opcode, fin: true, 0, _bytes.Span);
                break;
            case Sequence:
                protocol.WriteFrame(output, _opcode, _sequence);
                break;
            default:
                output.Write(_bytes.Span);
                break;
        }
    }
}
