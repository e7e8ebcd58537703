using System.Buffers.Binary;
using System.Text;

namespace AspNetWebSockets.TestShared;

/// <summary>Builds client frames byte by byte (RFC 6455 §5.2), including ones no correct client would send.</summary>
internal static class Frames
{
    /// <summary>The <c>rsv</c> value for RSV1 alone: the bit permessage-deflate uses to mark a compressed message (RFC 7692 §6).</summary>
    public const int Rsv1 = 4;

    private static readonly byte[] FixedMaskKey = [0x37, 0xfa, 0x21, 0x3d];

    /// <summary>
    /// One frame, masked with a fresh random key as RFC 6455 §5.3 asks of a real client. <paramref name="rsv"/> is the
    /// three RSV bits as a number 0–7 (4 = RSV1, 2 = RSV2, 1 = RSV3). <paramref name="declaredLength"/> overrides the
    /// length field (the payload written is still <paramref name="payload"/>). The length uses its minimal encoding
    /// unless <paramref name="lengthBytes"/> forces 0 (7-bit), 2 or 8 extra bytes.
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
        return Build(opcode, payload, fin, rsv, masked, length, lengthBytes ?? MinimalLengthBytes(length), maskKey: default);
    }

    /// <summary>
    /// One well-formed masked frame with a fixed masking key instead of a random one: the same bytes on every run, so a
    /// flood can repeat one frame built once and a seeded test that splits frames replays byte for byte.
    /// </summary>
    public static byte[] BuildWithFixedKey(byte opcode, ReadOnlySpan<byte> payload, bool fin = true, int rsv = 0) =>
        Build(opcode, payload, fin, rsv, masked: true, (ulong)payload.Length, MinimalLengthBytes((ulong)payload.Length), FixedMaskKey);

    private static int MinimalLengthBytes(ulong length) => length > ushort.MaxValue ? 8 : length > 125 ? 2 : 0;

    /// <summary>The frame; masked with <paramref name="maskKey"/>, or with a random key when it is empty.</summary>
    private static byte[] Build(
        byte opcode,
        ReadOnlySpan<byte> payload,
        bool fin,
        int rsv,
        bool masked,
        ulong length,
        int lengthBytes,
        ReadOnlySpan<byte> maskKey)
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
            if (maskKey.IsEmpty)
            {
                Random.Shared.NextBytes(key);
            }
            else
            {
                maskKey.CopyTo(key);
            }

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
