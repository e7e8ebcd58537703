using System.Net.WebSockets;
using AspNetWebSockets.Extensions;

namespace AspNetWebSockets.Protocol;

/// <summary>
/// A whole message framed once (RFC 6455 §5.2, server role: unmasked, one final frame, RSV1 clear) so a broadcast
/// writes the same bytes to every member instead of framing per connection.
/// </summary>
internal sealed class PreparedMessage
{
    // Encoded forms by the extension's shared-encoding key (e.g. permessage-deflate's window), made on first use and
    // shared by every member whose session has that key. Few keys exist per message: a short list beats a dictionary.
    private readonly List<(object Key, byte[] Frame)> _encodedFrames = [];
    private readonly Lock _encoding = new();

    private readonly byte[] _frame;

    private PreparedMessage(WebSocketOpcode opcode, byte[] frame, int headerSize)
    {
        Opcode = opcode;
        _frame = frame;
        HeaderSize = headerSize;
    }

    public WebSocketOpcode Opcode { get; }

    /// <summary>Header and payload, ready for the wire.</summary>
    public ReadOnlyMemory<byte> Frame => _frame;

    public int HeaderSize { get; }

    public int PayloadLength => Frame.Length - HeaderSize;

    /// <summary>The payload alone (a view into <see cref="Frame"/>).</summary>
    public ReadOnlyMemory<byte> Payload => Frame[HeaderSize..];

    /// <summary>How many encoded forms were made (one per shared-encoding key in use, however many members got them).</summary>
    public int CompressionCount { get; private set; }

    /// <summary>
    /// The message encoded once by <paramref name="session"/>'s extension as a self-contained frame (its reserved bits set),
    /// for every member whose session has the same <see cref="IWebSocketExtensionSession.SharedEncodingKey"/>: for
    /// permessage-deflate without server context takeover, the peers reset per message, so the same bytes are valid for
    /// all of them (RFC 7692 §7.1.1.1). When the extension declines (a message too small to compress) the plain frame
    /// serves, and that answer is cached too.
    /// </summary>
    public ReadOnlyMemory<byte> GetEncodedFrame(object key, IWebSocketExtensionSession session, byte reservedBits)
    {
        lock (_encoding)
        {
            foreach ((object cachedKey, byte[] cached) in _encodedFrames)
            {
                if (cachedKey.Equals(key))
                {
                    return cached;
                }
            }

            byte[] frame = Encode(session, reservedBits) ?? _frame;
            _encodedFrames.Add((key, frame));
            return frame;
        }
    }

    private byte[]? Encode(IWebSocketExtensionSession session, byte reservedBits)
    {
        using var encoded = new PooledBufferWriter();
        if (!session.TryEncodeShared(Payload.Span, encoded))
        {
            return null;
        }

        int headerSize = FrameWriter.GetHeaderSize(encoded.WrittenCount, masked: false);
        byte[] frame = new byte[headerSize + encoded.WrittenCount];
        FrameWriter.WriteHeader(frame, Opcode, fin: true, reservedBits, encoded.WrittenCount, masked: false, maskKey: 0);
        encoded.WrittenSpan.CopyTo(frame.AsSpan(headerSize));
        CompressionCount++;
        return frame;
    }

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
