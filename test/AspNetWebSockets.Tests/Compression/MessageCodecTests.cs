using System.IO.Compression;
using AspNetWebSockets.Compression;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets.Tests.Compression;

/// <summary>RFC 7692 §7.2: the message compressor and decompressor, their windows, context takeover and limits.</summary>
public sealed class MessageCodecTests
{
    private static byte[] Compress(MessageDeflater deflater, byte[] message)
    {
        using var output = new PooledBufferWriter();
        deflater.Compress(message, output);
        return output.WrittenSpan.ToArray();
    }

    private static byte[] Inflate(MessageInflater inflater, byte[] compressed, int outputChunk = 4096, long limit = long.MaxValue)
    {
        var result = new List<byte>();
        int offset = 0;
        byte[] output = new byte[outputChunk];
        for (int guard = 0; guard < 10_000_000; guard++)
        {
            if (offset < compressed.Length && !inflater.InMessage || offset < compressed.Length && result.Count >= 0)
            {
                Span<byte> input = inflater.GetInputSpan();
                int take = Math.Min(input.Length, compressed.Length - offset);
                compressed.AsSpan(offset, take).CopyTo(input);
                offset += take;
                inflater.CommitInput(take, endOfMessage: offset == compressed.Length);
            }
            else if (compressed.Length == 0 && !inflater.InMessage && result.Count == 0 && guard == 0)
            {
                inflater.CommitInput(0, endOfMessage: true);
            }

            while (true)
            {
                InflateStatus status = inflater.Inflate(output, out int written);
                Assert.NotEqual(InflateStatus.InvalidData, status);
                result.AddRange(output.AsSpan(0, written).ToArray());
                if (result.Count > limit)
                {
                    return result.ToArray();
                }

                if (status == InflateStatus.MessageComplete)
                {
                    return result.ToArray();
                }

                if (written == 0)
                {
                    break; // needs more input
                }
            }
        }

        throw new InvalidOperationException("did not finish");
    }

    [Fact]
    public void Rfc7692_example_hello_compresses_to_the_documented_bytes()
    {
        // RFC 7692 §7.2.3.1: "Hello" → 0xf2 0x48 0xcd 0xc9 0xc9 0x07 0x00.
        using var deflater = new MessageDeflater(6, 15, 8, contextTakeover: true);

        Assert.Equal(new byte[] { 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00 }, Compress(deflater, "Hello"u8.ToArray()));
    }

    [Fact]
    public void Rfc7692_example_bytes_inflate_to_hello_and_an_empty_message_is_one_zero_byte()
    {
        using var inflater = new MessageInflater(15, contextTakeover: true);
        using var deflater = new MessageDeflater(6, 15, 8, contextTakeover: false);

        Assert.Equal("Hello"u8.ToArray(), Inflate(inflater, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]));
        Assert.Equal(new byte[] { 0x00 }, Compress(deflater, []));
        Assert.Empty(Inflate(inflater, [0x00]));
    }

    public static TheoryData<int> WindowBits => new(9, 10, 11, 12, 13, 14, 15);

    [Theory]
    [MemberData(nameof(WindowBits))]
    public void Every_window_size_round_trips_in_both_directions(int bits)
    {
        byte[] message = MakeText(200_000, seed: bits);
        using var deflater = new MessageDeflater(6, bits, 8, contextTakeover: true);
        using var inflater = new MessageInflater(bits, contextTakeover: true);

        for (int i = 0; i < 3; i++)
        {
            byte[] compressed = Compress(deflater, message);
            Assert.True(compressed.Length < message.Length / 2);
            Assert.Equal(message, Inflate(inflater, compressed, outputChunk: 1000 + (i * 3000)));
        }
    }

    [Fact]
    public void A_larger_inflate_window_reads_a_smaller_window_stream()
    {
        byte[] message = MakeText(100_000, seed: 1);
        using var deflater = new MessageDeflater(6, 9, 8, contextTakeover: true);
        using var inflater = new MessageInflater(15, contextTakeover: true);

        Assert.Equal(message, Inflate(inflater, Compress(deflater, message)));
    }

    [Fact]
    public void With_context_takeover_a_repeated_message_compresses_smaller_without_it_the_same()
    {
        byte[] message = MakeText(2_000, seed: 7);
        using var takeover = new MessageDeflater(6, 15, 8, contextTakeover: true);
        using var fresh = new MessageDeflater(6, 15, 8, contextTakeover: false);

        byte[] first = Compress(takeover, message);
        byte[] second = Compress(takeover, message);
        byte[] noTakeover1 = Compress(fresh, message);
        byte[] noTakeover2 = Compress(fresh, message);

        Assert.True(second.Length < first.Length / 4, $"{second.Length} vs {first.Length}");
        Assert.Equal(noTakeover1, noTakeover2);
        Assert.False(fresh.HoldsState); // low-memory mode: nothing held between messages
        Assert.True(takeover.HoldsState);

        // The receiving side must follow the same rule: a takeover stream needs a takeover inflater.
        using var inflater = new MessageInflater(15, contextTakeover: true);
        Assert.Equal(message, Inflate(inflater, first));
        Assert.Equal(message, Inflate(inflater, second));
    }

    [Fact]
    public void Without_client_context_takeover_the_inflater_releases_its_state_after_each_message()
    {
        using var deflater = new MessageDeflater(6, 15, 8, contextTakeover: false);
        using var inflater = new MessageInflater(15, contextTakeover: false);
        byte[] message = MakeText(5_000, seed: 3);

        Assert.Equal(message, Inflate(inflater, Compress(deflater, message)));
        Assert.False(inflater.HoldsState);
        Assert.Equal(message, Inflate(inflater, Compress(deflater, message)));
    }

    [Fact]
    public void Output_of_another_deflate_implementation_inflates()
    {
        byte[] message = MakeText(50_000, seed: 11);
        var stream = new MemoryStream();
        byte[] compressed;
        using (var deflate = new DeflateStream(stream, CompressionLevel.Optimal, leaveOpen: true))
        {
            deflate.Write(message);
            deflate.Flush(); // sync flush: ends with 00 00 FF FF
            compressed = stream.ToArray(); // before Dispose adds a final block
        }

        Assert.Equal(new byte[] { 0, 0, 0xFF, 0xFF }, compressed[^4..]);
        using var inflater = new MessageInflater(15, contextTakeover: true);

        Assert.Equal(message, Inflate(inflater, compressed[..^4]));
    }

    [Fact]
    public void Corrupt_input_is_reported_not_thrown()
    {
        using var inflater = new MessageInflater(15, contextTakeover: true);
        Span<byte> input = inflater.GetInputSpan();
        input[0] = 0xFF; // BTYPE 11 is reserved: invalid block type
        input[1] = 0xFF;
        inflater.CommitInput(2, endOfMessage: true);

        Assert.Equal(InflateStatus.InvalidData, inflater.Inflate(new byte[100], out _));
    }

    [Fact]
    public void A_deflate_bomb_produces_output_only_as_fast_as_the_caller_takes_it()
    {
        // 64 MiB of zeros compresses to ~64 KiB; the inflater writes only into the caller's buffer, so a caller that
        // stops at its limit (as the connection does at MaxMessageSize) never holds more than that buffer.
        byte[] zeros = new byte[64 * 1024 * 1024];
        using var deflater = new MessageDeflater(9, 15, 8, contextTakeover: false);
        byte[] bomb = Compress(deflater, zeros);
        Assert.True(bomb.Length < 100 * 1024, $"bomb is {bomb.Length} bytes");

        using var inflater = new MessageInflater(15, contextTakeover: false);
        Span<byte> input = inflater.GetInputSpan();
        bomb.AsSpan(0, Math.Min(bomb.Length, input.Length)).CopyTo(input);
        inflater.CommitInput(Math.Min(bomb.Length, input.Length), endOfMessage: false);
        byte[] output = new byte[16 * 1024];
        Assert.Equal(InflateStatus.Progress, inflater.Inflate(output, out int first)); // warm-up: JIT and stub generation allocate once
        long before = GC.GetAllocatedBytesForCurrentThread();
        long total = first;
        bool allProgress = true;
        while (total <= 1024 * 1024)
        {
            // No assertions inside the measured loop: the assertion library allocates.
            allProgress &= inflater.Inflate(output, out int written) == InflateStatus.Progress && written > 0;
            total += written;
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allProgress);
        Assert.True(allocated < 1024, $"inflating {total} bytes allocated {allocated} bytes of managed memory");
    }

    private static byte[] MakeText(int length, int seed)
    {
        var random = new Random(seed);
        string[] words = ["alpha", "beta", "gamma", "delta", "{\"id\":", "\"name\":", "true", "false", "null", "websocket", "frame"];
        var text = new StringBuilder(length + 16);
        while (text.Length < length)
        {
            text.Append(words[random.Next(words.Length)]).Append(random.Next(100)).Append(' ');
        }

        return Encoding.UTF8.GetBytes(text.ToString(0, length));
    }
}
