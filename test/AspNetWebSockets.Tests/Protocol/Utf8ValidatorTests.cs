using System.Text;
using AspNetWebSockets.Protocol;
using Xunit;

namespace AspNetWebSockets.Tests.Protocol;

public class Utf8ValidatorTests
{
    /// <summary>
    /// Independent oracle from Unicode Table 3-7 (Well-Formed UTF-8 Byte Sequences): the index of the first byte
    /// at which the input stops being a prefix of any valid UTF-8 string; <c>bytes.Length</c> if it is a valid
    /// prefix that ends inside a code point (invalid only once the message ends); -1 if it is valid UTF-8.
    /// </summary>
    internal static int FirstImpossibleByte(ReadOnlySpan<byte> bytes)
    {
        int i = 0;
        while (i < bytes.Length)
        {
            byte b = bytes[i];
            if (b <= 0x7F)
            {
                i++;
                continue;
            }

            (int need, byte lo, byte hi) = b switch
            {
                >= 0xC2 and <= 0xDF => (1, (byte)0x80, (byte)0xBF),
                0xE0 => (2, (byte)0xA0, (byte)0xBF),
                (>= 0xE1 and <= 0xEC) or 0xEE or 0xEF => (2, (byte)0x80, (byte)0xBF),
                0xED => (2, (byte)0x80, (byte)0x9F),
                0xF0 => (3, (byte)0x90, (byte)0xBF),
                >= 0xF1 and <= 0xF3 => (3, (byte)0x80, (byte)0xBF),
                0xF4 => (3, (byte)0x80, (byte)0x8F),
                _ => (0, (byte)0, (byte)0),
            };

            if (need == 0)
            {
                return i;
            }

            for (int k = 1; k <= need; k++)
            {
                if (i + k >= bytes.Length)
                {
                    return bytes.Length;
                }

                byte c = bytes[i + k];
                if (k == 1 ? c < lo || c > hi : c < 0x80 || c > 0xBF)
                {
                    return i + k;
                }
            }

            i += need + 1;
        }

        return -1;
    }

    /// <summary>
    /// Feeds the chunks in order (endOfMessage on the last) and returns the index of the first chunk the validator
    /// rejects, or -1 if all pass. Stops at the first rejection, as the decoder does.
    /// </summary>
    private static int FirstRejectedChunk(IReadOnlyList<byte[]> chunks)
    {
        var validator = new Utf8Validator();
        for (int i = 0; i < chunks.Count; i++)
        {
            if (!validator.TryValidate(chunks[i], endOfMessage: i == chunks.Count - 1))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>One byte per chunk, then an empty final chunk that ends the message.</summary>
    private static List<byte[]> OneBytePerChunkThenEnd(byte[] bytes)
    {
        var chunks = bytes.Select(b => new[] { b }).ToList();
        chunks.Add([]);
        return chunks;
    }

    // RFC 3629 §4 / RFC 6455 §8.1: the boundaries of each encoding length are valid.
    [Theory]
    [InlineData("00", "U+0000")]
    [InlineData("7F", "U+007F")]
    [InlineData("C2 80", "U+0080")]
    [InlineData("DF BF", "U+07FF")]
    [InlineData("E0 A0 80", "U+0800")]
    [InlineData("ED 9F BF", "U+D7FF, last before the surrogates")]
    [InlineData("EE 80 80", "U+E000, first after the surrogates")]
    [InlineData("EF BF BD", "U+FFFD")]
    [InlineData("EF BF BF", "U+FFFF (a noncharacter, still valid UTF-8)")]
    [InlineData("F0 90 80 80", "U+10000")]
    [InlineData("F4 8F BF BF", "U+10FFFF")]
    [InlineData("CE BA E1 BD B9 CE BC CE B5", "κόσμε (Autobahn 6.2)")]
    public void Valid_edge_code_points_validate_whole_and_split_everywhere(string hex, string name)
    {
        foreach (byte[] bytes in new[] { Hex.Parse(hex), [.. "a"u8, .. Hex.Parse(hex), .. "z"u8], [.. Hex.Parse(hex), .. Hex.Parse(hex)] })
        {
            Assert.Equal(-1, FirstImpossibleByte(bytes));
            Assert.True(-1 == FirstRejectedChunk([bytes]), $"{name} whole");
            for (int split = 0; split <= bytes.Length; split++)
            {
                Assert.True(-1 == FirstRejectedChunk([bytes[..split], bytes[split..]]), $"{name} split at {split}");
            }

            for (int a = 0; a <= bytes.Length; a++)
            {
                for (int b = a; b <= bytes.Length; b++)
                {
                    Assert.True(-1 == FirstRejectedChunk([bytes[..a], bytes[a..b], bytes[b..]]), $"{name} split at {a},{b}");
                }
            }

            Assert.True(-1 == FirstRejectedChunk(OneBytePerChunkThenEnd(bytes)), $"{name} byte by byte");
        }
    }

    /// <summary>Invalid inputs and the index of the first byte after which no valid continuation exists
    /// (the input's length when only the end of the message makes it invalid).</summary>
    public static TheoryData<string, int, string> InvalidInputs() => new()
    {
        { "C0 80", 0, "overlong U+0000 (2 bytes): C0 never occurs" },
        { "C1 BF", 0, "overlong U+007F: C1 never occurs" },
        { "E0 80 80", 1, "overlong U+0000 (3 bytes)" },
        { "E0 9F BF", 1, "overlong U+07FF (3 bytes)" },
        { "F0 80 80 80", 1, "overlong U+0000 (4 bytes)" },
        { "F0 8F BF BF", 1, "overlong U+FFFF (4 bytes)" },
        { "ED A0 80", 1, "surrogate U+D800" },
        { "ED BF BF", 1, "surrogate U+DFFF" },
        { "ED A0 80 ED B0 80", 1, "surrogate pair encoded as CESU-8" },
        { "F4 90 80 80", 1, "U+110000, above U+10FFFF" },
        { "F7 BF BF BF", 0, "U+1FFFFF: F5..F7 never occur" },
        { "F5", 0, "F5" },
        { "F8 88 80 80 80", 0, "5-byte form" },
        { "FC 84 80 80 80 80", 0, "6-byte form" },
        { "FE", 0, "FE" },
        { "FF", 0, "FF" },
        { "80", 0, "lone continuation" },
        { "BF", 0, "lone continuation" },
        { "61 80", 1, "continuation after ASCII" },
        { "C2 80 80", 2, "one continuation too many" },
        { "C2 41", 1, "ASCII where a continuation is due" },
        { "E2 82 41", 2, "ASCII as the third byte" },
        { "F0 9F 98 41", 3, "ASCII as the fourth byte" },
        { "E2 82 E2 82 AC", 2, "a new lead byte where a continuation is due" },
        { "C2", 1, "truncated 2-byte sequence at the end of the message" },
        { "E2 82", 2, "truncated 3-byte sequence at the end of the message" },
        { "F0 9F 98", 3, "truncated 4-byte sequence at the end of the message" },
        { "61 62 F4 8F BF", 5, "truncated U+10FFFF at the end of the message" },
        { "CE BA E1 BD B9 CE BC CE B5 ED A0 80 65 64 69 74 65 64", 10, "Autobahn 6.3.1: κόσμε + U+D800 + edited" },
        { "CE BA E1 BD B9 CE BC CE B5 F4 90 80 80 65 64 69 74 65 64", 10, "Autobahn 6.4.1: κόσμε + U+110000 + edited" },
    };

    // RFC 6455 §8.1 and Autobahn 6.x: fail fast — the chunk that brings the first impossible byte is rejected.
    [Theory]
    [MemberData(nameof(InvalidInputs))]
    public void Invalid_input_fails_at_the_first_impossible_byte(string hex, int failIndex, string name)
    {
        byte[] bytes = Hex.Parse(hex);
        Assert.Equal(failIndex, FirstImpossibleByte(bytes)); // the oracle agrees with the table

        // One byte per chunk: exactly chunk failIndex is rejected (index Length = the empty chunk ending the message).
        Assert.True(failIndex == FirstRejectedChunk(OneBytePerChunkThenEnd(bytes)), $"{name}: byte by byte");

        // The whole input at once is rejected.
        Assert.True(0 == FirstRejectedChunk([bytes]), $"{name}: whole");

        // Two chunks, every split: the first chunk fails if and only if it holds the impossible byte.
        for (int split = 0; split <= bytes.Length; split++)
        {
            int expected = failIndex < split ? 0 : 1;
            Assert.True(expected == FirstRejectedChunk([bytes[..split], bytes[split..]]), $"{name}: split at {split}");
        }
    }

    // RFC 6455 §8.1: a code point cut off by the end of the message is invalid when endOfMessage is set on the
    // chunk with the last byte, too.
    [Theory]
    [InlineData("C2")]
    [InlineData("E2 82")]
    [InlineData("F0 9F 98")]
    [InlineData("61 62 F4 8F BF")]
    public void Truncated_sequence_fails_at_end_of_message(string hex)
    {
        byte[] bytes = Hex.Parse(hex);
        var validator = new Utf8Validator();
        for (int i = 0; i < bytes.Length - 1; i++)
        {
            Assert.True(validator.TryValidate(bytes.AsSpan(i, 1), endOfMessage: false));
        }

        Assert.False(validator.TryValidate(bytes.AsSpan(bytes.Length - 1), endOfMessage: true));

        var whole = new Utf8Validator();
        Assert.True(whole.TryValidate(bytes, endOfMessage: false)); // a valid prefix so far
        Assert.False(whole.TryValidate([], endOfMessage: true));
    }

    // Autobahn 6.4.1-6.4.4: fragments (or TCP chops) as the test suite sends them; the fragment carrying the
    // invalid byte must be rejected, before the rest arrives.
    [Theory]
    [InlineData("CE BA E1 BD B9 CE BC CE B5", "F4 90 80 80", "65 64 69 74 65 64")]       // 6.4.1 / 6.4.3
    [InlineData("CE BA E1 BD B9 CE BC CE B5 F4", "90", "80 80 65 64 69 74 65 64")]       // 6.4.2 / 6.4.4
    [InlineData("CE BA E1 BD B9 CE BC CE B5 ED", "A0 80", "65 64 69 74 65 64")]          // U+D800 variant
    public void Autobahn_6_4_fails_on_the_second_part(string part1, string part2, string part3)
    {
        Assert.Equal(1, FirstRejectedChunk([Hex.Parse(part1), Hex.Parse(part2), Hex.Parse(part3)]));
    }

    // Autobahn 6.x: a long valid text split at random points validates.
    [Fact]
    public void Long_valid_text_split_at_random_points_validates()
    {
        string text = string.Concat(Enumerable.Repeat("Hello-µ@ßöäüàá-UTF-8!! κόσμε ∮ E⋅da = Q 😀𝄞 \u0000\u007F\u0080\u07FF\u0800\uFFFF\U00010000\U0010FFFF", 800));
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var random = new Random(6);
        for (int round = 0; round < 200; round++)
        {
            int[] cuts = Sequences.RandomCuts(random, bytes.Length, round < 20 ? 5000 : 40);
            var chunks = Sequences.SplitMemory(bytes, cuts).Select(m => m.ToArray()).ToList();
            Assert.Equal(-1, FirstRejectedChunk(chunks));
        }
    }

    // RFC 6455 §8.1 fail-fast, as a property: random valid text with one random defect, split at random points;
    // the validator rejects exactly the chunk the oracle says, and accepts every chunk before it.
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Random_defects_fail_in_the_right_chunk(int seed)
    {
        var random = new Random(seed);
        int[] codePoints = [0, 0x41, 0x7F, 0x80, 0x3BA, 0x7FF, 0x800, 0x20AC, 0xD7FF, 0xE000, 0xFFFD, 0xFFFF, 0x10000, 0x1F600, 0x10FFFF];
        for (int round = 0; round < 700; round++)
        {
            var builder = new List<byte>();
            int count = random.Next(0, 30);
            for (int i = 0; i < count; i++)
            {
                int cp = random.Next(3) == 0 ? codePoints[random.Next(codePoints.Length)] : random.Next(0, 0x110000);
                if (cp is >= 0xD800 and <= 0xDFFF)
                {
                    cp = 0x61;
                }

                builder.AddRange(Encoding.UTF8.GetBytes(char.ConvertFromUtf32(cp)));
            }

            // Defect: a random byte overwritten, inserted or removed, or the tail cut off (or none: stays valid).
            switch (random.Next(5))
            {
                case 0 when builder.Count > 0:
                    builder[random.Next(builder.Count)] = (byte)random.Next(256);
                    break;
                case 1:
                    builder.Insert(random.Next(builder.Count + 1), (byte)random.Next(0x80, 0x100));
                    break;
                case 2 when builder.Count > 0:
                    int cut = random.Next(1, Math.Min(3, builder.Count) + 1);
                    builder.RemoveRange(builder.Count - cut, cut);
                    break;
                case 3 when builder.Count > 0:
                    builder.RemoveAt(random.Next(builder.Count));
                    break;
            }

            byte[] bytes = [.. builder];
            int[] cuts = Sequences.RandomCuts(random, bytes.Length, random.Next(1, 12));
            var chunks = Sequences.SplitMemory(bytes, cuts).Select(m => m.ToArray()).ToList();

            int impossible = FirstImpossibleByte(bytes);
            int expectedChunk = -1;
            if (impossible >= 0)
            {
                // The chunk holding byte `impossible`; for a truncated end (impossible == Length), the last chunk.
                expectedChunk = chunks.Count - 1;
                int start = 0;
                for (int c = 0; c < chunks.Count; c++)
                {
                    if (impossible < start + chunks[c].Length)
                    {
                        expectedChunk = c;
                        break;
                    }

                    start += chunks[c].Length;
                }
            }

            Assert.True(expectedChunk == FirstRejectedChunk(chunks), $"seed {seed} round {round}: {Convert.ToHexString(bytes)} cuts [{string.Join(',', cuts)}]");
            Assert.Equal(impossible == -1, Utf8TextIsValid(bytes));
        }
    }

    private static bool Utf8TextIsValid(byte[] bytes) => System.Text.Unicode.Utf8.IsValid(bytes);

    // RFC 6455 §8.1 applies per message: a new message starts with no carried bytes.
    [Fact]
    public void Reset_forgets_a_carried_prefix()
    {
        var validator = new Utf8Validator();
        Assert.True(validator.TryValidate(Hex.Parse("E2 82"), endOfMessage: false));
        validator.Reset();
        Assert.True(validator.TryValidate("abc"u8, endOfMessage: true)); // without Reset, 'a' after E2 82 is invalid

        var carried = new Utf8Validator();
        Assert.True(carried.TryValidate(Hex.Parse("E2 82"), endOfMessage: false));
        Assert.False(carried.TryValidate("abc"u8, endOfMessage: true));
    }

    // RFC 6455 §5.4: empty fragments carry no bytes and change nothing; an empty text message is valid.
    [Fact]
    public void Empty_chunks_are_neutral()
    {
        var validator = new Utf8Validator();
        Assert.True(validator.TryValidate([], endOfMessage: false));
        Assert.True(validator.TryValidate(Hex.Parse("F0 9F"), endOfMessage: false));
        Assert.True(validator.TryValidate([], endOfMessage: false));
        Assert.True(validator.TryValidate(Hex.Parse("98"), endOfMessage: false));
        Assert.True(validator.TryValidate([], endOfMessage: false));
        Assert.True(validator.TryValidate(Hex.Parse("80"), endOfMessage: false));
        Assert.True(validator.TryValidate([], endOfMessage: true));

        var empty = new Utf8Validator();
        Assert.True(empty.TryValidate([], endOfMessage: true)); // an empty text message is valid
    }
}
