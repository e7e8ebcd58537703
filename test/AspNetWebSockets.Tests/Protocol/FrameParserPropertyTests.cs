using System.Buffers;
using System.Text;
using AspNetWebSockets.Compression;
using AspNetWebSockets.Protocol;
using AspNetWebSockets.TestShared;
using Xunit;

namespace AspNetWebSockets.Tests.Protocol;

/// <summary>
/// Seeded randomized tests of the receive path (ADVISORIES #11, #12, #13: "fuzz the reader"). Every seed is fixed,
/// so a failure reproduces; each message names the seed and iteration.
/// </summary>
public class FrameParserPropertyTests
{
    private const int IterationsPerSeed = 250;

    private static readonly DecoderLimits Limits = new(MaxMessageSize: 1 << 20, MaxFrameSize: 1 << 20, MaxFragmentsPerMessage: 64);

    private static int RandomKey(Random random) => random.Next(int.MinValue, int.MaxValue);

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>Random valid UTF-8 of about <paramref name="length"/> bytes, mixing every encoding width.</summary>
    private static byte[] RandomUtf8(Random random, int length)
    {
        var bytes = new List<byte>(length + 4);
        Span<byte> buffer = stackalloc byte[4];
        while (bytes.Count < length)
        {
            int cp = random.Next(4) switch
            {
                0 => random.Next(0, 0x80),
                1 => random.Next(0x80, 0x800),
                2 => random.Next(0x800, 0x10000),
                _ => random.Next(0x10000, 0x110000),
            };
            if (cp is >= 0xD800 and <= 0xDFFF)
            {
                cp = 0xFFFD;
            }

            int n = new Rune(cp).EncodeToUtf8(buffer);
            bytes.AddRange(buffer[..n]);
        }

        return [.. bytes];
    }

    private static int RandomLength(Random random, int max) => random.Next(10) switch
    {
        < 6 => random.Next(0, Math.Min(max, 200) + 1),
        < 9 => random.Next(0, Math.Min(max, 5000) + 1),
        _ => random.Next(0, max + 1),
    };

    private static (WebSocketOpcode Opcode, byte[] Payload) RandomControl(Random random, bool allowClose)
    {
        if (allowClose && random.Next(8) == 0)
        {
            string reason = Encoding.UTF8.GetString(RandomUtf8(random, random.Next(0, 30)));
            while (Encoding.UTF8.GetByteCount(reason) > CloseFrame.MaxReasonBytes)
            {
                reason = reason[..^1];
            }

            var payload = new byte[125];
            int size = CloseFrame.Write(payload, CloseCodes.Valid[random.Next(CloseCodes.Valid.Count)], reason);
            return (WebSocketOpcode.Close, payload[..size]);
        }

        return (random.Next(2) == 0 ? WebSocketOpcode.Ping : WebSocketOpcode.Pong, RandomBytes(random, random.Next(0, 126)));
    }

    /// <summary>
    /// A stream of valid masked client frames: text and binary messages (some fragmented, with empty fragments and
    /// control frames between fragments) and control frames, with random lengths and masking keys. Returns the
    /// bytes and the messages/control frames a correct decoder reports, in order.
    /// </summary>
    private static (byte[] Bytes, List<DecodedItem> Expected) RandomValidStream(Random random, int maxItems, int maxLength)
    {
        var frames = new List<byte[]>();
        var expected = new List<DecodedItem>();
        int items = random.Next(1, maxItems + 1);
        for (int item = 0; item < items; item++)
        {
            if (random.Next(10) < 3)
            {
                var (opcode, payload) = RandomControl(random, allowClose: true);
                frames.Add(Frames.Masked(opcode, true, payload, 0, RandomKey(random)));
                expected.Add(new DecodedItem(opcode, payload));
                continue;
            }

            WebSocketOpcode type = random.Next(2) == 0 ? WebSocketOpcode.Text : WebSocketOpcode.Binary;
            int length = RandomLength(random, maxLength);
            byte[] message = type == WebSocketOpcode.Text ? RandomUtf8(random, length) : RandomBytes(random, length);

            // Fragment boundaries anywhere, also inside a code point and giving empty fragments.
            int fragments = random.Next(2) == 0 ? 1 : random.Next(2, 7);
            int[] cuts = Enumerable.Range(0, fragments - 1).Select(_ => random.Next(0, message.Length + 1)).Order().ToArray();
            List<ReadOnlyMemory<byte>> parts = Sequences.SplitMemory(message, cuts);
            for (int f = 0; f < parts.Count; f++)
            {
                if (f > 0 && random.Next(3) == 0)
                {
                    var (opcode, payload) = RandomControl(random, allowClose: false);
                    frames.Add(Frames.Masked(opcode, true, payload, 0, RandomKey(random)));
                    expected.Add(new DecodedItem(opcode, payload));
                }

                frames.Add(Frames.Masked(f == 0 ? type : WebSocketOpcode.Continuation, f == parts.Count - 1, parts[f].Span, 0, RandomKey(random)));
            }

            expected.Add(new DecodedItem(type, message));
        }

        return (Frames.Concat([.. frames]), expected);
    }

    private static int RandomDestinationSize(Random random, int streamLength) => random.Next(5) switch
    {
        0 when streamLength < 8192 => random.Next(1, 17),
        1 => random.Next(17, 1000),
        2 => random.Next(1000, 70_001),
        _ => 4096,
    };

    private static void AssertSameItems(List<DecodedItem> expected, DecoderDriver driver, string context)
    {
        Assert.True(ProtocolViolation.None == driver.Violation, $"{context}: {driver.Violation}");
        Assert.True(driver.Unconsumed == 0, $"{context}: {driver.Unconsumed} bytes left");
        Assert.Equal(expected.Select(i => i.Key), driver.Items.Select(i => i.Key));
    }

    // (b) RFC 6455 §5: framing is independent of how TCP delivers the bytes. A random valid stream decodes to the
    // same messages and control frames whether fed at once, as a multi-segment sequence, in random reads, or byte
    // by byte, with any destination size; no Data chunk exceeds the destination, no control payload 125 bytes.
    [Theory]
    [InlineData(11)]
    [InlineData(22)]
    [InlineData(33)]
    [InlineData(44)]
    public void Valid_streams_decode_the_same_however_split(int seed)
    {
        var random = new Random(seed);
        for (int iteration = 0; iteration < IterationsPerSeed; iteration++)
        {
            var (bytes, expected) = RandomValidStream(random, maxItems: 6, maxLength: 70_000);
            string context = $"seed {seed} iteration {iteration} ({bytes.Length} bytes)";

            // Whole buffer at once.
            int destination = RandomDestinationSize(random, bytes.Length);
            var whole = new DecoderDriver(new WebSocketProtocol(WebSocketRole.Server, Limits), destination);
            whole.Feed(bytes);
            AssertSameItems(expected, whole, context + " whole");
            Assert.All(whole.Events, e => Assert.InRange(e.Length, 0, e.Status == DecodeStatus.Control ? 125 : destination));

            // One multi-segment sequence with random boundaries (1..N segments, empty ones possible).
            int[] cuts = Sequences.RandomCuts(random, bytes.Length, random.Next(1, 64));
            var segmented = new DecoderDriver(new WebSocketProtocol(WebSocketRole.Server, Limits), RandomDestinationSize(random, bytes.Length));
            segmented.Feed(Sequences.SplitMemory(bytes, cuts));
            AssertSameItems(expected, segmented, context + " segmented");

            // Random reads, each appended to what the decoder left unconsumed.
            cuts = Sequences.RandomCuts(random, bytes.Length, random.Next(1, 200));
            var reads = new DecoderDriver(new WebSocketProtocol(WebSocketRole.Server, Limits), RandomDestinationSize(random, bytes.Length));
            foreach (ReadOnlyMemory<byte> read in Sequences.SplitMemory(bytes, cuts))
            {
                reads.Feed([read]);
            }

            AssertSameItems(expected, reads, context + " reads");

            // Byte by byte (small streams only, to bound the run time).
            if (bytes.Length <= 4096)
            {
                var byteByByte = new DecoderDriver(new WebSocketProtocol(WebSocketRole.Server, Limits), RandomDestinationSize(random, bytes.Length));
                byteByByte.FeedAll(bytes, 1);
                AssertSameItems(expected, byteByByte, context + " byte by byte");
            }
        }

    }

    // (a) ADVISORIES #11/#12/#13: random bytes never throw, never spin, and end in a verdict or a request for
    // more data. The driver checks each call: Data/Control consumed input; NeedMoreData left < 14 bytes.
    [Theory]
    [InlineData(101)]
    [InlineData(202)]
    [InlineData(303)]
    [InlineData(404)]
    public void Random_bytes_never_throw_and_always_decide(int seed)
    {
        var random = new Random(seed);
        int violations = 0;
        for (int iteration = 0; iteration < IterationsPerSeed; iteration++)
        {
            string context = $"seed {seed} iteration {iteration}";
            byte[] bytes;
            List<DecodedItem> prefix = [];
            switch (iteration % 4)
            {
                case 0: // pure noise
                    bytes = RandomBytes(random, random.Next(0, 3000));
                    break;
                case 1: // plausible headers: mostly masked, any opcode/RSV/length form, random payload
                    bytes = PlausibleNoise(random);
                    break;
                case 2: // valid frames, then noise
                    var (valid, expected) = RandomValidStream(random, maxItems: 4, maxLength: 3000);
                    bytes = [.. valid, .. PlausibleNoise(random)];
                    prefix = expected;
                    break;
                default: // valid frames with a few corrupted bytes
                    (bytes, _) = RandomValidStream(random, maxItems: 4, maxLength: 3000);
                    for (int k = random.Next(1, 4); k > 0 && bytes.Length > 0; k--)
                    {
                        bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                    }

                    break;
            }

            // The protocol object as the connection runs it, with permessage-deflate negotiated half the time (RSV1
            // frames then reach the inflater, whose output is capped by the message limit).
            var limits = new DecoderLimits(1 << 16, 1 << 16, 16);
            bool deflate = random.Next(2) == 0;
            using PerMessageDeflateSession? extension = deflate
                ? new PerMessageDeflateSession(new PerMessageDeflateParameters(15, false, 15, false), new WebSocketCompressionOptions(), WebSocketRole.Server)
                : null;
            int destinationSize = RandomDestinationSize(random, bytes.Length);
            var driver = new DecoderDriver(new WebSocketProtocol(WebSocketRole.Server, limits, extension, ReservedBit.Rsv1), destinationSize);
            DecodeStatus status = DecodeStatus.NeedMoreData;
            int[] cuts = Sequences.RandomCuts(random, bytes.Length, random.Next(1, 40));
            foreach (ReadOnlyMemory<byte> read in Sequences.SplitMemory(bytes, cuts))
            {
                status = driver.Feed([read]);
                if (status == DecodeStatus.Violation)
                {
                    break;
                }
            }

            Assert.True(status is DecodeStatus.NeedMoreData or DecodeStatus.Violation, context);
            Assert.Equal(status == DecodeStatus.Violation, driver.Violation != ProtocolViolation.None);
            // Inflated output arrives a destination's worth per call, up to the message limit, without consuming input.
            long inflateCalls = deflate ? 2 * (limits.MaxMessageSize / destinationSize + 1) : 0;
            Assert.True(driver.Calls <= 2 * bytes.Length + cuts.Length + 2 + inflateCalls, $"{context}: {driver.Calls} calls for {bytes.Length} bytes");
            if (status == DecodeStatus.Violation)
            {
                violations++;
                Assert.Contains(driver.Violation.ToCloseCode(), new[] { 1002, 1007, 1008, 1009 });
            }

            // Noise after valid frames cannot change what the valid frames decoded to.
            Assert.True(driver.Items.Count >= prefix.Count, context);
            Assert.Equal(prefix.Select(i => i.Key), driver.Items.Take(prefix.Count).Select(i => i.Key));
        }

        Assert.True(violations > IterationsPerSeed / 4, $"only {violations} violations: the noise is not reaching the checks");
    }

    /// <summary>Frames that get past the first byte or two: masked more often than not, every opcode and length form.</summary>
    private static byte[] PlausibleNoise(Random random)
    {
        var bytes = new List<byte>();
        for (int frames = random.Next(1, 6); frames > 0; frames--)
        {
            byte b0 = (byte)((random.Next(3) == 0 ? 0 : 0x80) | (random.Next(4) == 0 ? random.Next(8) << 4 & 0x70 : 0) | random.Next(16));
            int length7 = random.Next(4) switch { 0 => 126, 1 => 127, _ => random.Next(0, 126) };
            bytes.Add(b0);
            bytes.Add((byte)((random.Next(10) == 0 ? 0 : 0x80) | length7));
            if (length7 == 126)
            {
                bytes.AddRange(RandomBytes(random, 2));
            }
            else if (length7 == 127)
            {
                bytes.AddRange(random.Next(2) == 0 ? [0, 0, 0, 0, 0, (byte)random.Next(2), (byte)random.Next(256), (byte)random.Next(256)] : RandomBytes(random, 8));
            }

            bytes.AddRange(RandomBytes(random, 4));
            bytes.AddRange(RandomBytes(random, random.Next(0, 300)));
        }

        return [.. bytes];
    }

    // (c) The decoder needs no memory of its own beyond the 125-byte control buffer: a 1 MiB frame (= MaxFrameSize)
    // decodes into a small preallocated destination without allocating, however many segments it spans.
    [Theory]
    [InlineData(WebSocketOpcode.Binary, 16 * 1024, 65536)]
    [InlineData(WebSocketOpcode.Text, 16 * 1024, 65536)]
    [InlineData(WebSocketOpcode.Binary, 1, 4096)]
    [InlineData(WebSocketOpcode.Text, 4096, 1 << 20)]
    public void Large_frame_decodes_without_allocating(Enum opcodeValue, int destinationSize, int segmentSize)
    {
        var opcode = (WebSocketOpcode)opcodeValue;

        var random = new Random(destinationSize ^ segmentSize);
        byte[] payload = opcode == WebSocketOpcode.Text ? RandomUtf8(random, (int)Limits.MaxFrameSize - 3) : RandomBytes(random, (int)Limits.MaxFrameSize);
        byte[] stream = Frames.Concat(
            Frames.Masked(WebSocketOpcode.Ping, true, RandomBytes(random, 125), 0, RandomKey(random)),
            Frames.Masked(opcode, true, payload, 0, RandomKey(random)),
            Frames.Masked(WebSocketOpcode.Close, true, Frames.ClosePayload(1000, "done"), 0, RandomKey(random)));
        int[] cuts = Enumerable.Range(1, (stream.Length - 1) / segmentSize).Select(i => i * segmentSize).ToArray();
        ReadOnlySequence<byte> sequence = Sequences.Split(stream, cuts);
        var destination = new byte[destinationSize];

        // Warm-up: JIT and type loading happen here, not in the measured run.
        DecodeAll(new MessageDecoder(WebSocketRole.Server, Limits), sequence, destination);

        // The runtime itself may allocate on this thread now and then (e.g. starting its tiered-compilation worker),
        // so take the least of three runs: an allocation by the decoder would show in every run.
        long allocated = long.MaxValue;
        (long Data, int Controls, int MaxChunk, int MaxControl, DecodeStatus Last) result = default;
        for (int run = 0; run < 3 && allocated != 0; run++)
        {
            var decoder = new MessageDecoder(WebSocketRole.Server, Limits);

            // A control payload over 8 bytes makes the decoder's one control buffer on first use: once per connection, not
            // per message, so it is made before measuring.
            DecodeAll(decoder, new ReadOnlySequence<byte>(Frames.Masked(WebSocketOpcode.Ping, true, new byte[125])), destination);
            long before = GC.GetAllocatedBytesForCurrentThread();
            result = DecodeAll(decoder, sequence, destination);
            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        var (data, controls, maxChunk, maxControl, last) = result;

        Assert.Equal(DecodeStatus.NeedMoreData, last);
        Assert.Equal(payload.Length, data);
        Assert.Equal(2, controls);
        Assert.InRange(maxChunk, 1, destinationSize);
        Assert.InRange(maxControl, 0, 125);
        Assert.Equal(0, allocated);
    }

    /// <summary>Decodes everything with no allocation of its own: counts, no copies.</summary>
    private static (long Data, int Controls, int MaxChunk, int MaxControl, DecodeStatus Last) DecodeAll(MessageDecoder decoder, ReadOnlySequence<byte> sequence, byte[] destination)
    {
        var reader = new SequenceReader<byte>(sequence);
        long data = 0;
        int controls = 0, maxChunk = 0, maxControl = 0;
        DecodeStatus status;
        while ((status = decoder.Decode(ref reader, destination, out int written, out _, out _)) is DecodeStatus.Data or DecodeStatus.Control)
        {
            if (status == DecodeStatus.Control)
            {
                controls++;
                maxControl = Math.Max(maxControl, decoder.ControlPayload.Length);
            }
            else
            {
                data += written;
                maxChunk = Math.Max(maxChunk, written);
            }
        }

        return (data, controls, maxChunk, maxControl, status);
    }
}
