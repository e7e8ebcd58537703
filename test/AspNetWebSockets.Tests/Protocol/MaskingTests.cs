using AspNetWebSockets.Protocol;
using Xunit;

namespace AspNetWebSockets.Tests.Protocol;

public class MaskingTests
{
    /// <summary>RFC 6455 §5.3, literally: transformed-octet-i = original-octet-i XOR masking-key-octet-(j MOD 4).</summary>
    private static byte[] Reference(ReadOnlySpan<byte> data, int maskKey, int offset)
    {
        var result = new byte[data.Length];
        for (int i = 0; i < data.Length; i++)
        {
            int j = (offset + i) % 4;
            result[i] = (byte)(data[i] ^ (byte)(maskKey >> (8 * j)));
        }

        return result;
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static TheoryData<int, int> KeysAndOffsets()
    {
        var data = new TheoryData<int, int>();
        foreach (int key in new[] { 0, unchecked((int)0xFFFFFFFF), Frames.DefaultMaskKey, 0x01020304, unchecked((int)0x80FF7F01) })
        {
            for (int offset = 0; offset < 4; offset++)
            {
                data.Add(key, offset);
            }
        }

        return data;
    }

    // RFC 6455 §5.3: every length 0..300 (all scalar/vector tails) and every key offset, in place and copying.
    [Theory]
    [MemberData(nameof(KeysAndOffsets))]
    public void Apply_and_Copy_match_the_reference_for_lengths_0_to_300(int key, int offset)
    {
        byte[] source = RandomBytes(300 + 3, key ^ offset);
        for (int length = 0; length <= 300; length++)
        {
            // Start at 0..3 bytes into the array so vector loads are misaligned too.
            int start = length % 4;
            ReadOnlySpan<byte> original = source.AsSpan(start, length);
            byte[] expected = Reference(original, key, offset);

            byte[] inPlace = source.ToArray();
            int next = Masking.Apply(inPlace.AsSpan(start, length), key, offset);
            Assert.Equal(expected, inPlace.AsSpan(start, length).ToArray());
            Assert.Equal((offset + length) % 4, next);
            Assert.Equal(source[..start], inPlace[..start]); // nothing outside the span is touched
            Assert.Equal(source[(start + length)..], inPlace[(start + length)..]);

            var destination = new byte[length + 8];
            destination.AsSpan().Fill(0xCC);
            byte[] before = source.ToArray();
            next = Masking.Copy(original, destination.AsSpan(1), key, offset);
            Assert.Equal(expected, destination.AsSpan(1, length).ToArray());
            Assert.Equal((offset + length) % 4, next);
            Assert.Equal(0xCC, destination[0]);
            Assert.All(destination[(1 + length)..], b => Assert.Equal(0xCC, b)); // a longer destination keeps its tail
            Assert.Equal(before, source); // Copy leaves the source alone
        }
    }

    // RFC 6455 §5.3 on a large payload (the vectorized path dominates).
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void One_MiB_matches_the_reference(int offset)
    {
        const int key = unchecked((int)0xA1B2C3D4);
        byte[] data = RandomBytes(1 << 20, offset);
        byte[] expected = Reference(data, key, offset);

        var copy = new byte[data.Length];
        Assert.Equal(offset, Masking.Copy(data, copy, key, offset)); // 2^20 is a multiple of 4
        Assert.Equal(expected, copy);

        Assert.Equal(offset, Masking.Apply(data, key, offset));
        Assert.Equal(expected, data);
    }

    // RFC 6455 §5.3: "the same algorithm applies regardless of the direction" — masking twice restores.
    [Theory]
    [MemberData(nameof(KeysAndOffsets))]
    public void Applying_twice_restores(int key, int offset)
    {
        foreach (int length in new[] { 0, 1, 3, 4, 15, 16, 31, 33, 64, 65, 127, 1000, 4099 })
        {
            byte[] original = RandomBytes(length, length);
            byte[] data = original.ToArray();
            Masking.Apply(data, key, offset);
            if (key != 0 && length >= 8)
            {
                Assert.NotEqual(original, data);
            }

            Masking.Apply(data, key, offset);
            Assert.Equal(original, data);
        }
    }

    // RFC 6455 §5.3: "j = i MOD 4" counts from the start of the frame payload, so masking in pieces with the
    // returned offset equals masking at once (a payload arriving over many reads).
    [Theory]
    [MemberData(nameof(KeysAndOffsets))]
    public void Split_application_equals_one_application(int key, int offset)
    {
        byte[] original = RandomBytes(150, key + offset);
        byte[] whole = original.ToArray();
        Masking.Apply(whole, key, offset);

        for (int k = 0; k <= original.Length; k++)
        {
            byte[] split = original.ToArray();
            int next = Masking.Apply(split.AsSpan(0, k), key, offset);
            Assert.Equal((offset + k) % 4, next);
            Masking.Apply(split.AsSpan(k), key, next);
            Assert.Equal(whole, split);

            var copied = new byte[original.Length];
            next = Masking.Copy(original.AsSpan(0, k), copied, key, offset);
            Masking.Copy(original.AsSpan(k), copied.AsSpan(k), key, next);
            Assert.Equal(whole, copied);
        }
    }

    // Many pieces of random sizes, as a payload delivered over many TCP reads.
    [Fact]
    public void Many_random_pieces_equal_one_application()
    {
        var random = new Random(42);
        for (int round = 0; round < 50; round++)
        {
            int key = random.Next(int.MinValue, int.MaxValue);
            byte[] original = RandomBytes(random.Next(0, 5000), round);
            byte[] expected = Reference(original, key, 0);
            byte[] data = original.ToArray();
            int position = 0, offset = 0;
            while (position < data.Length)
            {
                int piece = Math.Min(data.Length - position, random.Next(0, 200));
                offset = Masking.Apply(data.AsSpan(position, piece), key, offset);
                position += piece;
            }

            Assert.Equal(expected, data);
        }
    }

    // API contract: Copy never writes past the destination.
    [Fact]
    public void Copy_rejects_a_short_destination()
    {
        var source = new byte[10];
        var destination = new byte[9];
        Assert.Throws<ArgumentException>(() => Masking.Copy(source, destination, 1, 0));
    }
}
