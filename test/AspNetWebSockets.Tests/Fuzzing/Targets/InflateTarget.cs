using System.Buffers;
using System.IO.Compression;
using AspNetWebSockets.Compression;

namespace AspNetWebSockets.Fuzzing;

/// <summary>
/// Target "inflate": <see cref="MessageInflater"/> over arbitrary compressed messages fed in arbitrary pieces, with a
/// small output buffer and a decompressed-size cap, as the connection uses it; plus round trips through
/// <see cref="MessageDeflater"/> and through a stock DEFLATE encoder that ends each message with a BFINAL block.
/// </summary>
/// <remarks>
/// Input layout: 5 configuration bytes, then messages, each a little-endian 16-bit length and that many bytes.
/// <list type="number">
/// <item>bits 0–2 window bits 9–15, bit 3 context takeover, bits 4–5 mode: 0 or 3 raw compressed input,
/// 1 round trip through MessageDeflater, 2 round trip through <see cref="DeflateStream"/> (one finished stream per
/// message, window 15).</item>
/// <item>output buffer: 1–256 bytes.</item>
/// <item>cap on decompressed bytes per message (raw mode): 256 B – 64 KiB.</item>
/// <item>split seed for the input pieces.</item>
/// <item>compression level for the round trips, 1–9.</item>
/// </list>
/// Invariants: nothing throws; output never exceeds the buffer; once a message's input is complete, every inflate call
/// produces bytes or ends the message (else the receive loop would wait for input that never comes); the staging
/// buffer always has room after its input was inflated; round trips reproduce the messages exactly.
/// </remarks>
internal static class InflateTarget
{
    public static void Run(ReadOnlySpan<byte> data)
    {
        var input = new FuzzInput(data);
        byte flags = input.Byte();
        int outputSize = 1 + input.Byte();
        int cap = (input.Byte() + 1) * 256;
        var splitter = new Splitter(input.Byte());
        int level = 1 + (input.Byte() % 9);

        int windowBits = 9 + ((flags & 7) % 7);
        bool contextTakeover = (flags & 8) != 0;
        int mode = (flags >> 4) & 3;
        if (mode == 2)
        {
            windowBits = 15; // DeflateStream always compresses with a 32 KiB window
        }

        using var inflater = new MessageInflater(windowBits, contextTakeover);
        using var deflater = mode == 1 ? new MessageDeflater(level, windowBits, memoryLevel: 8, contextTakeover) : null;
        using var compressed = new PooledBufferWriter();
        byte[] output = new byte[outputSize];
        var inflated = new ArrayBufferWriter<byte>();

        int index = -1;
        while (!input.Rest.IsEmpty)
        {
            int length = input.UInt16();
            ReadOnlySpan<byte> rest = input.Rest;
            ReadOnlySpan<byte> message = rest[..Math.Min(length, rest.Length)];
            input = new FuzzInput(rest[message.Length..]);

            ReadOnlySpan<byte> payload;
            compressed.Reset();
            switch (mode)
            {
                case 1:
                    deflater!.Compress(message, compressed);
                    payload = compressed.WrittenSpan;
                    break;
                case 2:
                    payload = CompressWithDeflateStream(message, level);
                    break;
                default:
                    payload = message;
                    break;
            }

            inflated.Clear();
            bool ok = InflateMessage(inflater, payload, output, mode is 1 or 2 ? int.MaxValue : cap, ref splitter, inflated);
            index++;
            if (mode is 1 or 2)
            {
                FuzzInvariantException.Check(ok, $"message {index} ({message.Length} bytes), compressed by a real DEFLATE encoder to {Convert.ToHexString(payload)}, failed to inflate");
                FuzzInvariantException.Check(inflated.WrittenSpan.SequenceEqual(message), $"round trip changed a {message.Length}-byte message into {inflated.WrittenCount} bytes");
            }
            else if (!ok)
            {
                return; // the connection fails (1007 or 1009) and drops the inflater
            }
        }
    }

    /// <summary>Feeds one message and drains the output; false when the data is invalid or the cap is exceeded.</summary>
    private static bool InflateMessage(MessageInflater inflater, ReadOnlySpan<byte> payload, byte[] output, int cap, ref Splitter splitter, ArrayBufferWriter<byte> inflated)
    {
        long total = 0;
        int offset = 0;
        do
        {
            // A piece of compressed payload as one frame (or TCP read) would bring it.
            int piece = splitter.Next(payload.Length - offset);
            while (true)
            {
                Span<byte> space = inflater.GetInputSpan();
                int count = Math.Min(space.Length, piece);
                FuzzInvariantException.Check(count > 0 || piece == 0, "the inflater's staging buffer is full after its input was drained");
                payload.Slice(offset, count).CopyTo(space);
                offset += count;
                piece -= count;
                bool complete = offset == payload.Length;
                inflater.CommitInput(count, complete);

                // Drain: with input incomplete, stop when it asks for more; once complete, every call must give bytes or finish.
                while (true)
                {
                    InflateStatus status = inflater.Inflate(output, out int written);
                    FuzzInvariantException.Check(written >= 0 && written <= output.Length, $"inflated {written} bytes into a {output.Length}-byte buffer");
                    if (status == InflateStatus.InvalidData)
                    {
                        FuzzInvariantException.Check(!inflater.InMessage, "InvalidData left the inflater in a message");
                        return false;
                    }

                    total += written;
                    if (total > cap)
                    {
                        return false; // 1009: the bomb stops here, having cost no more than the output buffer
                    }

                    inflated.Write(output.AsSpan(0, written));
                    if (status == InflateStatus.MessageComplete)
                    {
                        FuzzInvariantException.Check(complete, "the inflater finished a message before its last byte was committed");
                        FuzzInvariantException.Check(!inflater.InMessage, "MessageComplete but the inflater is still in the message");
                        return true;
                    }

                    if (written == 0)
                    {
                        FuzzInvariantException.Check(!complete, "inflater produced nothing and did not finish a message whose input is complete");
                        break;
                    }
                }

                if (piece == 0)
                {
                    break;
                }
            }
        }
        while (offset < payload.Length);

        throw new FuzzInvariantException("unreachable: the last piece either completes the message or fails");
    }

    private static byte[] CompressWithDeflateStream(ReadOnlySpan<byte> message, int level)
    {
        var buffer = new MemoryStream();
        CompressionLevel compressionLevel = level switch
        {
            1 => CompressionLevel.Fastest,
            9 => CompressionLevel.SmallestSize,
            _ => CompressionLevel.Optimal,
        };
        using (var deflate = new DeflateStream(buffer, compressionLevel, leaveOpen: true))
        {
            deflate.Write(message);
        }

        // DeflateStream writes nothing at all for an empty input, which is no DEFLATE stream and no permessage-deflate
        // payload (RFC 7692 §7.2.1 always leaves at least one byte); zlib's Z_FINISH gives an empty final block, 03 00.
        return buffer.Length == 0 ? [0x03, 0x00] : buffer.ToArray();
    }
}
