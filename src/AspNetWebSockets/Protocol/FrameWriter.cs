using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace AspNetWebSockets.Protocol;

/// <summary>
/// Writes RFC 6455 §5.2 frames. Headers go into spans; whole frames go into an <see cref="IBufferWriter{T}"/>
/// (a PipeWriter in production), copying (and, in the client role, masking) the payload behind the header when the
/// writer's span holds both, else in writer-sized chunks so a large message never needs one contiguous buffer. Only the
/// bytes written are ever advanced: no pooled memory beyond them reaches the wire (ADVISORIES #7).
/// </summary>
internal static class FrameWriter
{
    /// <summary>Header size for a payload of the given length, with or without a masking key.</summary>
    public static int GetHeaderSize(long payloadLength, bool masked) =>
        (payloadLength < 126 ? 2 : payloadLength <= ushort.MaxValue ? 4 : 10) + (masked ? 4 : 0);

    /// <summary>Writes a header using the minimal length encoding and returns its size.</summary>
    public static int WriteHeader(Span<byte> destination, WebSocketOpcode opcode, bool fin, byte reservedBits, long payloadLength, bool masked, int maskKey)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(payloadLength);
        destination[0] = (byte)((fin ? 0x80 : 0) | (reservedBits & ReservedBit.All) | (byte)opcode);
        byte maskBit = masked ? (byte)0x80 : (byte)0;
        int size;
        if (payloadLength < 126)
        {
            destination[1] = (byte)(maskBit | (byte)payloadLength);
            size = 2;
        }
        else if (payloadLength <= ushort.MaxValue)
        {
            destination[1] = (byte)(maskBit | 126);
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)payloadLength);
            size = 4;
        }
        else
        {
            destination[1] = (byte)(maskBit | 127);
            BinaryPrimitives.WriteUInt64BigEndian(destination[2..], (ulong)payloadLength);
            size = 10;
        }

        if (masked)
        {
            BinaryPrimitives.WriteInt32LittleEndian(destination[size..], maskKey);
            size += 4;
        }

        return size;
    }

    /// <summary>Writes a whole frame. In the client role the payload is masked with a fresh random key.</summary>
    public static void WriteFrame(IBufferWriter<byte> writer, WebSocketRole role, WebSocketOpcode opcode, bool fin, byte reservedBits, ReadOnlySpan<byte> payload)
    {
        bool masked = role == WebSocketRole.Client;
        int maskKey = masked ? NewMaskKey() : 0;
        Span<byte> span = writer.GetSpan(FrameReader.MaxHeaderSize);
        int headerSize = WriteHeader(span, opcode, fin, reservedBits, payload.Length, masked, maskKey);
        if (span.Length - headerSize >= payload.Length)
        {
            // The usual case for small messages: the frame fits the writer's span, so it takes one GetSpan and one
            // Advance (each a call through the writer, and on our sockets a lock) rather than two of each.
            CopyPayload(payload, span[headerSize..], masked, maskKey, 0);
            writer.Advance(headerSize + payload.Length);
            return;
        }

        writer.Advance(headerSize);
        WritePayload(writer, payload, masked, maskKey, 0);
    }

    /// <summary>Writes a whole frame whose payload is a (possibly multi-segment) sequence.</summary>
    public static void WriteFrame(IBufferWriter<byte> writer, WebSocketRole role, WebSocketOpcode opcode, bool fin, byte reservedBits, in ReadOnlySequence<byte> payload)
    {
        if (payload.IsSingleSegment)
        {
            WriteFrame(writer, role, opcode, fin, reservedBits, payload.FirstSpan);
            return;
        }

        bool masked = role == WebSocketRole.Client;
        int maskKey = masked ? NewMaskKey() : 0;
        WriteHeader(writer, opcode, fin, reservedBits, payload.Length, masked, maskKey);
        int offset = 0;
        foreach (ReadOnlyMemory<byte> segment in payload)
        {
            offset = WritePayload(writer, segment.Span, masked, maskKey, offset);
        }
    }

    /// <summary>A masking key from a strong source, as RFC 6455 §5.3 requires of clients.</summary>
    public static int NewMaskKey()
    {
        Span<byte> key = stackalloc byte[4];
        RandomNumberGenerator.Fill(key);
        return BinaryPrimitives.ReadInt32LittleEndian(key);
    }

    private static void WriteHeader(IBufferWriter<byte> writer, WebSocketOpcode opcode, bool fin, byte reservedBits, long payloadLength, bool masked, int maskKey)
    {
        Span<byte> span = writer.GetSpan(FrameReader.MaxHeaderSize);
        writer.Advance(WriteHeader(span, opcode, fin, reservedBits, payloadLength, masked, maskKey));
    }

    private static int WritePayload(IBufferWriter<byte> writer, ReadOnlySpan<byte> payload, bool masked, int maskKey, int offset)
    {
        while (!payload.IsEmpty)
        {
            Span<byte> destination = writer.GetSpan();
            int count = Math.Min(destination.Length, payload.Length);
            offset = CopyPayload(payload[..count], destination, masked, maskKey, offset);
            writer.Advance(count);
            payload = payload[count..];
        }

        return offset;
    }

    /// <summary>Copies payload bytes into a frame, masking them in the client role; returns the masking offset after them.</summary>
    private static int CopyPayload(ReadOnlySpan<byte> payload, Span<byte> destination, bool masked, int maskKey, int offset)
    {
        if (masked)
        {
            return Masking.Copy(payload, destination, maskKey, offset);
        }

        payload.CopyTo(destination);
        return offset;
    }
}
