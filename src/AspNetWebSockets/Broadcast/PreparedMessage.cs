using System.Net.WebSockets;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets.Broadcast;

/// <summary>
/// A whole message framed once (RFC 6455 §5.2, server role: unmasked, one final frame, RSV1 clear) so a broadcast
/// writes the same bytes to every member instead of framing per connection.
/// </summary>
internal sealed class PreparedMessage
{
    private PreparedMessage(WebSocketOpcode opcode, byte[] frame, int headerSize)
    {
        Opcode = opcode;
        Frame = frame;
        HeaderSize = headerSize;
    }

    public WebSocketOpcode Opcode { get; }

    /// <summary>Header and payload, ready for the wire.</summary>
    public ReadOnlyMemory<byte> Frame { get; }

    public int HeaderSize { get; }

    public int PayloadLength => Frame.Length - HeaderSize;

    /// <summary>The payload alone (a view into <see cref="Frame"/>).</summary>
    public ReadOnlyMemory<byte> Payload => Frame[HeaderSize..];

    public static PreparedMessage Create(ReadOnlySpan<byte> payload, WebSocketMessageType type)
    {
        WebSocketOpcode opcode = type switch
        {
            WebSocketMessageType.Text => WebSocketOpcode.Text,
            WebSocketMessageType.Binary => WebSocketOpcode.Binary,
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "A broadcast is text or binary."),
        };
        if (opcode == WebSocketOpcode.Text && !System.Text.Unicode.Utf8.IsValid(payload))
        {
            throw new ArgumentException("Text messages must be valid UTF-8.", nameof(payload));
        }

        int headerSize = FrameWriter.GetHeaderSize(payload.Length, masked: false);
        byte[] frame = new byte[headerSize + payload.Length];
        FrameWriter.WriteHeader(frame, opcode, fin: true, reservedBits: 0, payload.Length, masked: false, maskKey: 0);
        payload.CopyTo(frame.AsSpan(headerSize));
        return new PreparedMessage(opcode, frame, headerSize);
    }
}
