namespace AspNetWebSockets.ConformanceTests.Infrastructure;

/// <summary>Deterministic test payloads.</summary>
public static class Payloads
{
    /// <summary><paramref name="length"/> bytes of ASCII (valid UTF-8, one byte per character).</summary>
    public static byte[] Ascii(int length)
    {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)('a' + (i % 26));
        }

        return bytes;
    }

    /// <summary><paramref name="length"/> pseudo-random bytes (seeded, so a failure reproduces).</summary>
    public static byte[] Binary(int length)
    {
        byte[] bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        return bytes;
    }

    /// <summary>
    /// Exactly <paramref name="length"/> bytes of valid UTF-8 mixing 1-, 2-, 3- and 4-byte sequences ("aé€😀"
    /// repeated, ASCII-padded at the end), so fixed-size fragments split characters across frame boundaries.
    /// </summary>
    public static byte[] MixedUtf8(int length)
    {
        byte[] unit = Encoding.UTF8.GetBytes("aé€😀");
        byte[] bytes = new byte[length];
        int i = 0;
        for (; i + unit.Length <= length; i += unit.Length)
        {
            unit.CopyTo(bytes, i);
        }

        for (; i < length; i++)
        {
            bytes[i] = (byte)'z';
        }

        return bytes;
    }

    public static byte[] For(byte opcode, int length) => opcode == Opcode.Text ? Ascii(length) : Binary(length);

    public static byte OpcodeOf(string kind) => kind switch
    {
        "text" => Opcode.Text,
        "binary" => Opcode.Binary,
        "ping" => Opcode.Ping,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}
