using System.Buffers;
using AspNetWebSockets.Protocol;
using Xunit;

namespace AspNetWebSockets.Tests.Protocol;

public class FrameWriterTests
{
    /// <summary>
    /// An <see cref="IBufferWriter{T}"/> that hands out buffers of random size (never smaller than asked, usually
    /// much larger) filled with 0xCC, as a pool would hand out dirty memory. Only advanced bytes count as output.
    /// </summary>
    private sealed class DirtyBufferWriter : IBufferWriter<byte>
    {
        private readonly Random _random;
        private readonly List<byte> _written = [];
        private byte[] _current = [];
        private bool _outstanding;

        public DirtyBufferWriter(int seed)
        {
            _random = new Random(seed);
        }

        public byte[] Written => [.. _written];

        public int GetSpanCalls { get; private set; }

        public void Advance(int count)
        {
            Assert.True(_outstanding, "Advance without GetSpan/GetMemory");
            Assert.InRange(count, 0, _current.Length);
            _written.AddRange(_current.AsSpan(0, count));
            _outstanding = false;
        }

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            GetSpanCalls++;
            int size = Math.Max(sizeHint, 1) + _random.Next(0, 3) switch { 0 => 0, 1 => _random.Next(1, 8), _ => _random.Next(8, 5000) };
            _current = new byte[size];
            _current.AsSpan().Fill(0xCC);
            _outstanding = true;
            return _current;
        }

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    }

    private static (FrameHeader Header, int HeaderSize) ReadHeader(ReadOnlySpan<byte> bytes, WebSocketRole role)
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes.ToArray()));
        Assert.True(FrameReader.TryReadHeader(ref reader, role, out FrameHeader header, out ProtocolViolation violation));
        Assert.Equal(ProtocolViolation.None, violation);
        return (header, (int)reader.Consumed);
    }

    /// <summary>The payload of a whole frame, unmasked if it was masked.</summary>
    private static byte[] Unmasked(byte[] frame, FrameHeader header, int headerSize)
    {
        byte[] payload = frame[headerSize..];
        Assert.Equal(header.PayloadLength, payload.Length);
        if (header.Masked)
        {
            Masking.Apply(payload, header.MaskKey, 0);
        }

        return payload;
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    // RFC 6455 §5.2: the writer uses the minimal length encoding, and what it writes reads back the same.
    [Theory]
    [InlineData(0L, 2)]
    [InlineData(1L, 2)]
    [InlineData(125L, 2)]
    [InlineData(126L, 4)]
    [InlineData(127L, 4)]
    [InlineData(65535L, 4)]
    [InlineData(65536L, 10)]
    [InlineData(4294967297L, 10)] // 2^32 + 1, header only
    [InlineData(long.MaxValue, 10)]
    public void Header_round_trips_through_reader(long length, int unmaskedSize)
    {
        foreach (bool masked in new[] { false, true })
        {
            foreach (WebSocketOpcode opcode in new[] { WebSocketOpcode.Text, WebSocketOpcode.Binary, WebSocketOpcode.Continuation })
            {
                foreach (bool fin in new[] { true, false })
                {
                    foreach (byte rsv in new byte[] { 0, ReservedBit.Rsv1, ReservedBit.All })
                    {
                        var buffer = new byte[FrameReader.MaxHeaderSize];
                        int size = FrameWriter.WriteHeader(buffer, opcode, fin, rsv, length, masked, unchecked((int)0xDEADBEEF));

                        Assert.Equal(unmaskedSize + (masked ? 4 : 0), size);
                        Assert.Equal(size, FrameWriter.GetHeaderSize(length, masked));
                        var (header, read) = ReadHeader(buffer.AsSpan(0, size), masked ? WebSocketRole.Server : WebSocketRole.Client);
                        Assert.Equal(size, read);
                        Assert.Equal(length, header.PayloadLength);
                        Assert.Equal(opcode, header.Opcode);
                        Assert.Equal(fin, header.Fin);
                        Assert.Equal(rsv, header.ReservedBits);
                        Assert.Equal(masked, header.Masked);
                        Assert.Equal(masked ? unchecked((int)0xDEADBEEF) : 0, header.MaskKey);
                    }
                }
            }
        }
    }

    // RFC 6455 §5.7 examples, byte for byte.
    [Theory]
    [InlineData(WebSocketOpcode.Text, true, 5L, false, "81 05")]
    [InlineData(WebSocketOpcode.Text, true, 5L, true, "81 85 37 fa 21 3d")]
    [InlineData(WebSocketOpcode.Text, false, 3L, false, "01 03")]
    [InlineData(WebSocketOpcode.Continuation, true, 2L, false, "80 02")]
    [InlineData(WebSocketOpcode.Ping, true, 5L, false, "89 05")]
    [InlineData(WebSocketOpcode.Pong, true, 5L, true, "8a 85 37 fa 21 3d")]
    [InlineData(WebSocketOpcode.Binary, true, 256L, false, "82 7E 01 00")]
    [InlineData(WebSocketOpcode.Binary, true, 65536L, false, "82 7F 00 00 00 00 00 01 00 00")]
    public void Writes_rfc_example_headers(Enum opcodeValue, bool fin, long length, bool masked, string expected)
    {
        var opcode = (WebSocketOpcode)opcodeValue;

        var buffer = new byte[FrameReader.MaxHeaderSize];
        int size = FrameWriter.WriteHeader(buffer, opcode, fin, 0, length, masked, Frames.DefaultMaskKey);

        Assert.Equal(Hex.Parse(expected), buffer[..size]);
    }

    // RFC 6455 §5.7: a masked "Hello" with key 37 fa 21 3d.
    [Fact]
    public void Masked_rfc_example_frame()
    {
        Assert.Equal(Hex.Parse("81 85 37 fa 21 3d 7f 9f 4d 51 58"), Frames.Masked(WebSocketOpcode.Text, true, "Hello"u8));
        Assert.Equal(Hex.Parse("81 05 48 65 6c 6c 6f"), Frames.Server(WebSocketOpcode.Text, true, "Hello"u8));
    }

    // RFC 6455 §5.2: a payload length is never negative; the writer refuses to encode one.
    [Fact]
    public void Negative_length_is_rejected()
    {
        var buffer = new byte[FrameReader.MaxHeaderSize];
        Assert.Throws<ArgumentOutOfRangeException>(() => FrameWriter.WriteHeader(buffer, WebSocketOpcode.Binary, true, 0, -1, false, 0));
    }

    // RFC 6455 §5.3: client frames are masked with a key; unmasking with the header's key restores the payload.
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(125)]
    [InlineData(126)]
    [InlineData(1000)]
    [InlineData(65535)]
    [InlineData(65536)]
    [InlineData(100_003)]
    public void Client_frames_are_masked_and_round_trip(int length)
    {
        byte[] payload = RandomBytes(length, length);
        var writer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteFrame(writer, WebSocketRole.Client, WebSocketOpcode.Binary, true, 0, payload);
        byte[] frame = writer.WrittenSpan.ToArray();

        var (header, headerSize) = ReadHeader(frame, WebSocketRole.Server);
        Assert.True(header.Masked);
        Assert.Equal(FrameWriter.GetHeaderSize(length, masked: true) + length, frame.Length);
        if (length >= 16)
        {
            Assert.NotEqual(payload, frame[headerSize..]); // masked on the wire (a zero key has odds 2^-32)
        }

        Assert.Equal(payload, Unmasked(frame, header, headerSize));
    }

    // RFC 6455 §5.1: a server never masks.
    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(70_000)]
    public void Server_frames_are_unmasked(int length)
    {
        byte[] payload = RandomBytes(length, 7);
        var writer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteFrame(writer, WebSocketRole.Server, WebSocketOpcode.Text, false, ReservedBit.Rsv1, payload);
        byte[] frame = writer.WrittenSpan.ToArray();

        var (header, headerSize) = ReadHeader(frame, WebSocketRole.Client);
        Assert.False(header.Masked);
        Assert.False(header.Fin);
        Assert.True(header.Rsv1);
        Assert.Equal(payload, frame[headerSize..]);
    }

    // RFC 6455 §5.3: the masking key rotates over the whole payload, across the segments of a sequence.
    [Theory]
    [InlineData(WebSocketRole.Client, new[] { 1, 1, 1, 1, 1 })]
    [InlineData(WebSocketRole.Client, new[] { 3, 5, 7, 0, 2, 9 })]
    [InlineData(WebSocketRole.Client, new[] { 100, 1, 70_000, 3 })]
    [InlineData(WebSocketRole.Server, new[] { 3, 5, 7, 0, 2, 9 })]
    [InlineData(WebSocketRole.Server, new[] { 65530, 10 })]
    public void Sequence_payload_round_trips(Enum roleValue, int[] segmentSizes)
    {
        var role = (WebSocketRole)roleValue;

        byte[] payload = RandomBytes(segmentSizes.Sum(), segmentSizes.Length);
        var cuts = new List<int>();
        int position = 0;
        foreach (int size in segmentSizes[..^1])
        {
            position += size;
            cuts.Add(position);
        }

        ReadOnlySequence<byte> sequence = Sequences.Split(payload, [.. cuts]);
        Assert.Equal(segmentSizes.Length > 1, !sequence.IsSingleSegment);
        var writer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteFrame(writer, role, WebSocketOpcode.Binary, true, 0, sequence);
        byte[] frame = writer.WrittenSpan.ToArray();

        var (header, headerSize) = ReadHeader(frame, role == WebSocketRole.Client ? WebSocketRole.Server : WebSocketRole.Client);
        Assert.Equal(payload.Length, header.PayloadLength);
        Assert.Equal(payload, Unmasked(frame, header, headerSize));
    }

    // ADVISORIES #7: only bytes actually written are advanced: no dirty pooled bytes reach the wire, even when
    // the writer hands out spans much larger than asked for.
    [Theory]
    [InlineData(WebSocketRole.Server, 0)]
    [InlineData(WebSocketRole.Server, 1)]
    [InlineData(WebSocketRole.Server, 125)]
    [InlineData(WebSocketRole.Server, 126)]
    [InlineData(WebSocketRole.Server, 20_000)]
    [InlineData(WebSocketRole.Server, 70_000)]
    [InlineData(WebSocketRole.Client, 0)]
    [InlineData(WebSocketRole.Client, 7)]
    [InlineData(WebSocketRole.Client, 126)]
    [InlineData(WebSocketRole.Client, 20_001)]
    [InlineData(WebSocketRole.Client, 70_000)]
    public void Never_advances_past_what_was_written(Enum roleValue, int length)
    {
        var role = (WebSocketRole)roleValue;

        for (int seed = 0; seed < 20; seed++)
        {
            byte[] payload = RandomBytes(length, seed);

            var spanWriter = new DirtyBufferWriter(seed);
            FrameWriter.WriteFrame(spanWriter, role, WebSocketOpcode.Binary, true, 0, payload);
            AssertExactFrame(spanWriter.Written, role, payload);

            var sequenceWriter = new DirtyBufferWriter(seed + 1000);
            int cut1 = length / 3, cut2 = length / 3 + length / 5;
            FrameWriter.WriteFrame(sequenceWriter, role, WebSocketOpcode.Binary, true, 0, Sequences.Split(payload, cut1, cut2));
            AssertExactFrame(sequenceWriter.Written, role, payload);
        }
    }

    // A frame that fits the span the writer hands out is written with one GetSpan and one Advance (on our sockets each
    // takes a lock); one that does not is written in chunks, and both read back the same (masked or not).
    [Theory]
    [InlineData(WebSocketRole.Server, 64, 1)]
    [InlineData(WebSocketRole.Client, 64, 1)]
    [InlineData(WebSocketRole.Server, 4092, 1)] // a 4-byte header and 4,092 bytes fill the 4,096-byte span exactly
    [InlineData(WebSocketRole.Server, 4093, 2)] // one byte more: the header, then the payload in a span of its own
    [InlineData(WebSocketRole.Client, 10_000, 4)]
    public void Small_frames_take_one_span(Enum roleValue, int length, int expectedCalls)
    {
        var role = (WebSocketRole)roleValue;
        byte[] payload = RandomBytes(length, length);
        var writer = new FixedSpanWriter(4096);
        FrameWriter.WriteFrame(writer, role, WebSocketOpcode.Binary, true, 0, payload);

        Assert.Equal(expectedCalls, writer.Calls);
        AssertExactFrame(writer.Written, role, payload);
    }

    /// <summary>Hands out spans of one fixed size (at least what is asked), counting GetSpan/Advance pairs.</summary>
    private sealed class FixedSpanWriter(int spanSize) : IBufferWriter<byte>
    {
        private readonly ArrayBufferWriter<byte> _inner = new();

        public int Calls { get; private set; }

        public byte[] Written => _inner.WrittenSpan.ToArray();

        public void Advance(int count) => _inner.Advance(count);

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            Calls++;
            return _inner.GetMemory(Math.Max(sizeHint, spanSize))[..Math.Max(sizeHint, spanSize)];
        }

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    }

    private static void AssertExactFrame(byte[] written, WebSocketRole role, byte[] payload)
    {
        bool masked = role == WebSocketRole.Client;
        Assert.Equal(FrameWriter.GetHeaderSize(payload.Length, masked) + payload.Length, written.Length);
        var (header, headerSize) = ReadHeader(written, masked ? WebSocketRole.Server : WebSocketRole.Client);
        Assert.Equal(FrameWriter.GetHeaderSize(payload.Length, masked), headerSize);
        Assert.Equal(payload, Unmasked(written, header, headerSize));
    }

    // RFC 6455 §5.3: "The masking key needs to be unpredictable" — at least, it is not constant.
    [Fact]
    public void Mask_keys_vary()
    {
        var keys = Enumerable.Range(0, 16).Select(_ => FrameWriter.NewMaskKey()).ToHashSet();
        Assert.True(keys.Count > 1);

        var first = Frames.Client(WebSocketOpcode.Binary, true, new byte[8]);
        var second = Frames.Client(WebSocketOpcode.Binary, true, new byte[8]);
        Assert.NotEqual(first[2..6], second[2..6]); // odds of a collision are 2^-32
    }
}
