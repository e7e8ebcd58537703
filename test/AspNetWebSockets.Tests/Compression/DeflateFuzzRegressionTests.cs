using System.IO.Compression;
using AspNetWebSockets.Compression;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets.Tests.Compression;

/// <summary>Regressions for what fuzzing the permessage-deflate path found (build/fuzz.sh, target "inflate").</summary>
public sealed class DeflateFuzzRegressionTests
{
    [Fact]
    public void An_empty_message_after_a_flushed_one_compresses_to_a_single_zero_byte()
    {
        // zlib has nothing to flush for an empty message right after a sync flush and emitted nothing; RFC 7692 §7.2.1
        // asks for the empty stored block minus 00 00 FF FF, i.e. one 0x00. An empty payload left peers mid-block.
        using var deflater = new MessageDeflater(6, 15, 8, contextTakeover: true);
        Compress(deflater, "first"u8);

        Assert.Equal([0x00], Compress(deflater, []));
    }

    [Fact]
    public void Messages_after_an_empty_one_still_round_trip_with_context_takeover()
    {
        using var deflater = new MessageDeflater(7, 15, 8, contextTakeover: true);
        using var inflater = new MessageInflater(15, contextTakeover: true);
        byte[][] messages = [Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("The quick brown fox. ", 40))), [], "a"u8.ToArray()];

        foreach (byte[] message in messages)
        {
            Assert.Equal(message, Inflate(inflater, Compress(deflater, message)));
        }
    }

    [Fact]
    public void A_message_ending_in_a_bfinal_block_does_not_corrupt_the_next_one_with_context_takeover()
    {
        // Peers may finish each message's stream with a BFINAL block (RFC 7692 §7.2.3 shows such payloads). The appended 00 00 FF FF used to be
        // fed to the reset stream, where it opened a stored block that swallowed the next message.
        using var inflater = new MessageInflater(15, contextTakeover: true);
        byte[] first = "the first message"u8.ToArray();
        byte[] second = "and the second one"u8.ToArray();

        Assert.Equal(first, Inflate(inflater, FinishedStream(first)));
        Assert.Equal(second, Inflate(inflater, FinishedStream(second)));
    }

    [Fact]
    public void Bytes_after_the_final_block_within_a_message_are_invalid()
    {
        using var inflater = new MessageInflater(15, contextTakeover: true);
        byte[] payload = [.. FinishedStream("done"u8.ToArray()), 0x4A, 0x04, 0x00];

        Assert.Equal(InflateStatus.InvalidData, InflateStatusOf(inflater, payload));
        Assert.False(inflater.InMessage);
    }

    private static byte[] Compress(MessageDeflater deflater, ReadOnlySpan<byte> message)
    {
        using var output = new PooledBufferWriter();
        deflater.Compress(message, output);
        return output.WrittenSpan.ToArray();
    }

    private static byte[] FinishedStream(byte[] message)
    {
        var buffer = new MemoryStream();
        using (var deflate = new DeflateStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
        {
            deflate.Write(message);
        }

        return buffer.ToArray();
    }

    /// <summary>Commits the whole payload as one final piece and drains the output in 7-byte steps.</summary>
    private static byte[] Inflate(MessageInflater inflater, byte[] payload)
    {
        payload.CopyTo(inflater.GetInputSpan());
        inflater.CommitInput(payload.Length, endOfMessage: true);
        var result = new List<byte>();
        byte[] output = new byte[7];
        while (true)
        {
            InflateStatus status = inflater.Inflate(output, out int written);
            Assert.NotEqual(InflateStatus.InvalidData, status);
            result.AddRange(output.AsSpan(0, written).ToArray());
            if (status == InflateStatus.MessageComplete)
            {
                return result.ToArray();
            }

            // With the whole message committed, every call must produce bytes or finish the message.
            Assert.NotEqual(0, written);
        }
    }

    private static InflateStatus InflateStatusOf(MessageInflater inflater, byte[] payload)
    {
        payload.CopyTo(inflater.GetInputSpan());
        inflater.CommitInput(payload.Length, endOfMessage: true);
        byte[] output = new byte[64];
        while (true)
        {
            InflateStatus status = inflater.Inflate(output, out int written);
            if (status != InflateStatus.Progress || written == 0)
            {
                return status;
            }
        }
    }
}
