using System.Net.WebSockets;
using AspNetWebSockets.Compression;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets.Broadcast;

/// <summary>
/// A whole message framed once (RFC 6455 §5.2, server role: unmasked, one final frame, RSV1 clear) so a broadcast
/// writes the same bytes to every member instead of framing per connection.
/// </summary>
internal sealed class PreparedMessage
{
    // Compressed forms by window bits, made on first use and shared by every member that can take them.
    private readonly byte[]?[] _compressedFrames = new byte[]?[16];
    private readonly Lock _compressing = new();

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

    /// <summary>How many compressed forms were made (one per window size in use, however many members got them).</summary>
    public int CompressionCount { get; private set; }

    /// <summary>
    /// The message compressed once as a self-contained permessage-deflate frame (RSV1, fresh DEFLATE stream, trailer
    /// removed) for members whose server side has no context takeover: their peers reset per message, so the same
    /// bytes are valid for all of them (RFC 7692 §7.1.1.1). Made once per window size and then shared.
    /// </summary>
    public ReadOnlyMemory<byte> GetCompressedFrame(int windowBits, int level, int memoryLevel)
    {
        lock (_compressing)
        {
            if (_compressedFrames[windowBits] is { } cached)
            {
                return cached;
            }

            using var deflater = new MessageDeflater(level, windowBits, memoryLevel, contextTakeover: false);
            using var compressed = new PooledBufferWriter();
            deflater.Compress(Payload.Span, compressed);
            int headerSize = FrameWriter.GetHeaderSize(compressed.WrittenCount, masked: false);
            byte[] frame = new byte[headerSize + compressed.WrittenCount];
            FrameWriter.WriteHeader(frame, Opcode, fin: true, ReservedBit.Rsv1, compressed.WrittenCount, masked: false, maskKey: 0);
            compressed.WrittenSpan.CopyTo(frame.AsSpan(headerSize));
            CompressionCount++;
            return _compressedFrames[windowBits] = frame;
        }
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
