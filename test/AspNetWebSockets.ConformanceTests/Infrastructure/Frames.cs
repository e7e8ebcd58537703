using System.Buffers.Binary;

namespace AspNetWebSockets.ConformanceTests.Infrastructure;

/// <summary>RFC 6455 §5.2 opcodes, written out here rather than taken from the library under test.</summary>
public static class Opcode
{
    public const byte Continuation = 0x0;
    public const byte Text = 0x1;
    public const byte Binary = 0x2;
    public const byte Close = 0x8;
    public const byte Ping = 0x9;
    public const byte Pong = 0xA;
}

/// <summary>A frame as read off the wire from the server.</summary>
public sealed record Frame(bool Fin, int Rsv, byte Opcode, bool Masked, byte[] Payload)
{
    public bool IsControl => (Opcode & 0x8) != 0;

    /// <summary>The status code of a close frame, or null when its payload is empty.</summary>
    public int? CloseCode => Payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(Payload) : null;

    public override string ToString() =>
        $"opcode 0x{Opcode:X} fin={Fin} rsv={Rsv} masked={Masked} length={Payload.Length}" +
        (Opcode == Infrastructure.Opcode.Close ? $" code={CloseCode?.ToString() ?? "none"}" : "");
}

/// <summary>Builds client frames byte by byte (RFC 6455 §5.2), including ones no correct client would send.</summary>
public static class Frames
{
    /// <summary>
    /// One frame. <paramref name="rsv"/> is the three RSV bits as a number 0–7 (4 = RSV1, 2 = RSV2, 1 = RSV3).
    /// <paramref name="declaredLength"/> overrides the length field (the payload written is still <paramref name="payload"/>).
    /// The length uses its minimal encoding unless <paramref name="lengthBytes"/> forces 0 (7-bit), 2 or 8 extra bytes.
    /// </summary>
    public static byte[] Build(
        byte opcode,
        ReadOnlySpan<byte> payload,
        bool fin = true,
        int rsv = 0,
        bool masked = true,
        ulong? declaredLength = null,
        int? lengthBytes = null)
    {
        ulong length = declaredLength ?? (ulong)payload.Length;
        return Build(opcode, payload, fin, rsv, masked, length, lengthBytes ?? (length > ushort.MaxValue ? 8 : length > 125 ? 2 : 0));
    }

    private static byte[] Build(byte opcode, ReadOnlySpan<byte> payload, bool fin, int rsv, bool masked, ulong length, int lengthBytes)
    {
        int headerLength = 2 + lengthBytes + (masked ? 4 : 0);
        byte[] frame = new byte[headerLength + payload.Length];
        frame[0] = (byte)((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0xF));
        byte maskBit = masked ? (byte)0x80 : (byte)0;
        switch (lengthBytes)
        {
            case 0:
                frame[1] = (byte)(maskBit | (byte)length);
                break;
            case 2:
                frame[1] = (byte)(maskBit | 126);
                BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)length);
                break;
            default:
                frame[1] = (byte)(maskBit | 127);
                BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(2), length);
                break;
        }

        Span<byte> body = frame.AsSpan(headerLength);
        payload.CopyTo(body);
        if (masked)
        {
            Span<byte> key = frame.AsSpan(2 + lengthBytes, 4);
            Random.Shared.NextBytes(key);
            for (int i = 0; i < body.Length; i++)
            {
                body[i] ^= key[i & 3];
            }
        }

        return frame;
    }

    public static byte[] Text(string text, bool fin = true) => Build(Opcode.Text, Encoding.UTF8.GetBytes(text), fin);

    /// <summary>A close frame payload: the code in network byte order followed by the reason bytes.</summary>
    public static byte[] ClosePayload(ushort code, ReadOnlySpan<byte> reason = default)
    {
        byte[] payload = new byte[2 + reason.Length];
        BinaryPrimitives.WriteUInt16BigEndian(payload, code);
        reason.CopyTo(payload.AsSpan(2));
        return payload;
    }

    public static byte[] Close(ushort code, ReadOnlySpan<byte> reason = default) => Build(Opcode.Close, ClosePayload(code, reason));

    /// <summary>Concatenates frames so they can be written in one go (or re-chunked).</summary>
    public static byte[] Concat(params byte[][] frames) => frames.SelectMany(f => f).ToArray();

    /// <summary>Bytes from a hex string like "ED A0 80".</summary>
    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));
}
