using System.Buffers;
using System.Buffers.Binary;
using AspNetWebSockets.Protocol;
using Xunit;

namespace AspNetWebSockets.Tests.Protocol;

public class FrameReaderTests
{
    private static (bool Ok, FrameHeader Header, ProtocolViolation Violation, long Consumed) Read(ReadOnlySequence<byte> input, WebSocketRole role)
    {
        var reader = new SequenceReader<byte>(input);
        bool ok = FrameReader.TryReadHeader(ref reader, role, out FrameHeader header, out ProtocolViolation violation);
        return (ok, header, violation, reader.Consumed);
    }

    private static (bool Ok, FrameHeader Header, ProtocolViolation Violation, long Consumed) Read(byte[] input, WebSocketRole role) =>
        Read(new ReadOnlySequence<byte>(input), role);

    /// <summary>Builds a header by hand: b0, b1 with the 7-bit length, the extended length bytes, then the key.</summary>
    private static byte[] Header(byte b0, bool masked, int length7, ulong extended = 0, int maskKey = Frames.DefaultMaskKey)
    {
        var bytes = new List<byte> { b0, (byte)((masked ? 0x80 : 0) | length7) };
        if (length7 == 126)
        {
            bytes.Add((byte)(extended >> 8));
            bytes.Add((byte)extended);
        }
        else if (length7 == 127)
        {
            var ext = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(ext, extended);
            bytes.AddRange(ext);
        }

        if (masked)
        {
            var key = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(key, maskKey);
            bytes.AddRange(key);
        }

        return [.. bytes];
    }

    private static ulong Length7Of(long length) => length < 126 ? (ulong)length : length <= ushort.MaxValue ? 126UL : 127UL;

    // RFC 6455 §5.2: "Payload length: 7 bits, 7+16 bits, or 7+64 bits".
    [Theory]
    [InlineData(0L, 2)]
    [InlineData(1L, 2)]
    [InlineData(125L, 2)]
    [InlineData(126L, 4)]
    [InlineData(127L, 4)]
    [InlineData(65535L, 4)]
    [InlineData(65536L, 10)]
    [InlineData(4294967297L, 10)] // 2^32 + 1
    [InlineData(long.MaxValue, 10)] // 2^63 - 1, the largest legal length
    public void Reads_every_length_form(long length, int unmaskedSize)
    {
        foreach (WebSocketRole role in new[] { WebSocketRole.Server, WebSocketRole.Client })
        {
            bool masked = role == WebSocketRole.Server; // RFC 6455 §5.1: client-to-server frames are masked
            int length7 = (int)Length7Of(length);
            byte[] bytes = [.. Header(0x82, masked, length7, (ulong)length), 0xAA, 0xBB]; // trailing payload bytes stay unread

            var (ok, header, violation, consumed) = Read(bytes, role);

            Assert.True(ok);
            Assert.Equal(ProtocolViolation.None, violation);
            Assert.Equal(unmaskedSize + (masked ? 4 : 0), consumed);
            Assert.Equal(length, header.PayloadLength);
            Assert.True(header.Fin);
            Assert.Equal(WebSocketOpcode.Binary, header.Opcode);
            Assert.Equal(masked, header.Masked);
            Assert.Equal(masked ? Frames.DefaultMaskKey : 0, header.MaskKey);
            Assert.Equal(0, header.ReservedBits);
        }
    }

    // RFC 6455 §5.7 examples, byte for byte.
    [Theory]
    [InlineData("81 05 48 65 6c 6c 6f", WebSocketRole.Client, true, WebSocketOpcode.Text, false, 5L, 2)] // unmasked "Hello"
    [InlineData("81 85 37 fa 21 3d 7f 9f 4d 51 58", WebSocketRole.Server, true, WebSocketOpcode.Text, true, 5L, 6)] // masked "Hello"
    [InlineData("01 03 48 65 6c", WebSocketRole.Client, false, WebSocketOpcode.Text, false, 3L, 2)] // first fragment "Hel"
    [InlineData("80 02 6c 6f", WebSocketRole.Client, true, WebSocketOpcode.Continuation, false, 2L, 2)] // last fragment "lo"
    [InlineData("89 05 48 65 6c 6c 6f", WebSocketRole.Client, true, WebSocketOpcode.Ping, false, 5L, 2)] // unmasked Ping
    [InlineData("8a 85 37 fa 21 3d 7f 9f 4d 51 58", WebSocketRole.Server, true, WebSocketOpcode.Pong, true, 5L, 6)] // masked Pong
    [InlineData("82 7E 01 00", WebSocketRole.Client, true, WebSocketOpcode.Binary, false, 256L, 4)] // 256 bytes binary
    [InlineData("82 7F 00 00 00 00 00 01 00 00", WebSocketRole.Client, true, WebSocketOpcode.Binary, false, 65536L, 10)] // 64 KiB binary
    [InlineData("88 80 01 02 03 04", WebSocketRole.Server, true, WebSocketOpcode.Close, true, 0L, 6)] // empty masked close
    public void Reads_rfc_examples(string hex, Enum roleValue, bool fin, Enum opcodeValue, bool masked, long length, int size)
    {
        var role = (WebSocketRole)roleValue;
        var opcode = (WebSocketOpcode)opcodeValue;

        var (ok, header, violation, consumed) = Read(Hex.Parse(hex), role);

        Assert.True(ok);
        Assert.Equal(ProtocolViolation.None, violation);
        Assert.Equal(size, consumed);
        Assert.Equal(fin, header.Fin);
        Assert.Equal(opcode, header.Opcode);
        Assert.Equal(masked, header.Masked);
        Assert.Equal(length, header.PayloadLength);
        Assert.Equal(opcode is WebSocketOpcode.Close or WebSocketOpcode.Ping or WebSocketOpcode.Pong, header.IsControl);
    }

    // RFC 6455 §5.3: the key is read in wire order; byte i of the key is (MaskKey >> 8i) & 0xFF.
    [Fact]
    public void Mask_key_bytes_are_in_wire_order()
    {
        var (ok, header, _, _) = Read(Hex.Parse("81 85 37 fa 21 3d"), WebSocketRole.Server);

        Assert.True(ok);
        Assert.Equal(0x37, header.MaskKey & 0xFF);
        Assert.Equal(0xFA, (header.MaskKey >> 8) & 0xFF);
        Assert.Equal(0x21, (header.MaskKey >> 16) & 0xFF);
        Assert.Equal(0x3D, (header.MaskKey >> 24) & 0xFF);
    }

    // RFC 6455 §5.2: RSV1-3 are reported as they are; whether they are allowed is the decoder's decision.
    [Theory]
    [InlineData(0xC1, 0x40)]
    [InlineData(0xA1, 0x20)]
    [InlineData(0x91, 0x10)]
    [InlineData(0xF1, 0x70)]
    [InlineData(0x71, 0x70)]
    public void Reports_reserved_bits(int b0, int expected)
    {
        var (ok, header, _, _) = Read(Header((byte)b0, masked: true, 3), WebSocketRole.Server);

        Assert.True(ok);
        Assert.Equal(expected, header.ReservedBits);
        Assert.Equal((expected & 0x40) != 0, header.Rsv1);
        Assert.Equal(WebSocketOpcode.Text, header.Opcode);
        Assert.Equal((b0 & 0x80) != 0, header.Fin);
    }

    // RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode the length".
    [Theory]
    [InlineData(126, 0UL)]
    [InlineData(126, 1UL)]
    [InlineData(126, 125UL)]
    [InlineData(127, 0UL)]
    [InlineData(127, 125UL)]
    [InlineData(127, 126UL)]
    [InlineData(127, 65535UL)]
    public void Rejects_non_minimal_length(int length7, ulong extended)
    {
        var (ok, _, violation, consumed) = Read(Header(0x82, masked: true, length7, extended), WebSocketRole.Server);

        Assert.False(ok);
        Assert.Equal(ProtocolViolation.NonMinimalLength, violation);
        Assert.Equal(0, consumed);
    }

    // RFC 6455 §5.2: "the most significant bit MUST be 0" of the 64-bit length (ADVISORIES #10).
    [Theory]
    [InlineData(0x8000000000000000UL)]
    [InlineData(0x8000000000000001UL)]
    [InlineData(0xFFFFFFFFFFFFFFFFUL)]
    [InlineData(0x8000000000010000UL)]
    public void Rejects_64_bit_length_with_msb_set(ulong extended)
    {
        var (ok, _, violation, consumed) = Read(Header(0x82, masked: true, 127, extended), WebSocketRole.Server);

        Assert.False(ok);
        Assert.Equal(ProtocolViolation.LengthTooLarge, violation);
        Assert.Equal(0, consumed);
    }

    // RFC 6455 §5.2: opcodes %x3-7 and %xB-F are reserved; §5.1 / §10.7: receiving one fails the connection.
    [Theory]
    [InlineData(0x3)]
    [InlineData(0x4)]
    [InlineData(0x5)]
    [InlineData(0x6)]
    [InlineData(0x7)]
    [InlineData(0xB)]
    [InlineData(0xC)]
    [InlineData(0xD)]
    [InlineData(0xE)]
    [InlineData(0xF)]
    public void Rejects_reserved_opcodes(int opcode)
    {
        foreach (bool fin in new[] { true, false })
        {
            byte[] bytes = Header((byte)((fin ? 0x80 : 0) | opcode), masked: true, 0);
            var (ok, _, violation, consumed) = Read(bytes, WebSocketRole.Server);
            Assert.False(ok);
            Assert.Equal(ProtocolViolation.ReservedOpcode, violation);
            Assert.Equal(0, consumed);

            // Client role, correctly unmasked: still reserved.
            (ok, _, violation, _) = Read(Header((byte)((fin ? 0x80 : 0) | opcode), masked: false, 0), WebSocketRole.Client);
            Assert.False(ok);
            Assert.Equal(ProtocolViolation.ReservedOpcode, violation);
        }
    }

    // RFC 6455 §5.5: "All control frames ... MUST NOT be fragmented."
    [Theory]
    [InlineData(WebSocketOpcode.Close)]
    [InlineData(WebSocketOpcode.Ping)]
    [InlineData(WebSocketOpcode.Pong)]
    public void Rejects_fragmented_control_frames(Enum opcodeValue)
    {
        var opcode = (WebSocketOpcode)opcodeValue;

        var (ok, _, violation, consumed) = Read(Header((byte)opcode, masked: true, 0), WebSocketRole.Server);

        Assert.False(ok);
        Assert.Equal(ProtocolViolation.FragmentedControlFrame, violation);
        Assert.Equal(0, consumed);
    }

    // RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less".
    [Theory]
    [InlineData(WebSocketOpcode.Close, 126, 126UL)]
    [InlineData(WebSocketOpcode.Ping, 126, 126UL)]
    [InlineData(WebSocketOpcode.Pong, 126, 65535UL)]
    [InlineData(WebSocketOpcode.Ping, 127, 65536UL)]
    [InlineData(WebSocketOpcode.Close, 127, 0x7FFFFFFFFFFFFFFFUL)]
    public void Rejects_control_frames_over_125_bytes(Enum opcodeValue, int length7, ulong extended)
    {
        var opcode = (WebSocketOpcode)opcodeValue;

        var (ok, _, violation, consumed) = Read(Header((byte)(0x80 | (byte)opcode), masked: true, length7, extended), WebSocketRole.Server);

        Assert.False(ok);
        Assert.Equal(ProtocolViolation.ControlFrameTooLong, violation);
        Assert.Equal(0, consumed);
    }

    // RFC 6455 §5.5: 125 is still allowed.
    [Theory]
    [InlineData(WebSocketOpcode.Close)]
    [InlineData(WebSocketOpcode.Ping)]
    [InlineData(WebSocketOpcode.Pong)]
    public void Accepts_control_frames_of_125_bytes(Enum opcodeValue)
    {
        var opcode = (WebSocketOpcode)opcodeValue;

        var (ok, header, _, _) = Read(Header((byte)(0x80 | (byte)opcode), masked: true, 125), WebSocketRole.Server);

        Assert.True(ok);
        Assert.True(header.IsControl);
        Assert.Equal(125, header.PayloadLength);
    }

    // RFC 6455 §5.1: "The server MUST close the connection upon receiving a frame that is not masked";
    // "A client MUST close a connection if it detects a masked frame".
    [Theory]
    [InlineData(WebSocketRole.Server, false, ProtocolViolation.UnmaskedFrame)]
    [InlineData(WebSocketRole.Client, true, ProtocolViolation.MaskedFrame)]
    public void Enforces_masking_direction(Enum roleValue, bool masked, Enum expectedValue)
    {
        var role = (WebSocketRole)roleValue;
        var expected = (ProtocolViolation)expectedValue;

        foreach (byte b0 in new byte[] { 0x81, 0x82, 0x01, 0x00, 0x88, 0x89, 0x8A })
        {
            foreach (int length7 in new[] { 0, 5, 126, 127 })
            {
                var (ok, _, violation, consumed) = Read(Header(b0, masked, length7, length7 == 126 ? 300UL : 70000UL), role);
                Assert.False(ok);
                Assert.Equal(expected, violation);
                Assert.Equal(0, consumed);
            }
        }
    }

    public static TheoryData<string, byte[]> HeaderForms() => new()
    {
        { "7-bit unmasked", Header(0x81, masked: false, 5) },
        { "7-bit masked", Header(0x81, masked: true, 5) },
        { "16-bit unmasked", Header(0x82, masked: false, 126, 300) },
        { "16-bit masked", Header(0x82, masked: true, 126, 300) },
        { "64-bit unmasked", Header(0x82, masked: false, 127, 0x0000_0001_0000_0001) },
        { "64-bit masked", Header(0x82, masked: true, 127, 0x0000_0001_0000_0001) },
        { "control masked", Header(0x89, masked: true, 125) },
    };

    // RFC 6455 §5.2 framing is a byte stream: a header cut anywhere is "need more data", never a verdict,
    // and nothing is consumed (ADVISORIES #11: EOF mid-header).
    [Theory]
    [MemberData(nameof(HeaderForms))]
    public void Truncated_header_needs_more_data_and_consumes_nothing(string form, byte[] header)
    {
        WebSocketRole role = (header[1] & 0x80) != 0 ? WebSocketRole.Server : WebSocketRole.Client;
        for (int length = 0; length < header.Length; length++)
        {
            var (ok, _, violation, consumed) = Read(header[..length], role);
            Assert.False(ok, $"{form}: {length} bytes");
            Assert.Equal(ProtocolViolation.None, violation);
            Assert.Equal(0, consumed);

            // The same prefix over many segments.
            (ok, _, violation, consumed) = Read(Sequences.OneBytePerSegment(header[..length]), role);
            Assert.False(ok);
            Assert.Equal(ProtocolViolation.None, violation);
            Assert.Equal(0, consumed);
        }

        var complete = Read(header, role);
        Assert.True(complete.Ok, form);
        Assert.Equal(header.Length, complete.Consumed);
    }

    // RFC 6455 §5.2: where TCP cuts the stream must not change the header that is read.
    [Theory]
    [MemberData(nameof(HeaderForms))]
    public void Header_split_across_segments_at_every_position_reads_the_same(string form, byte[] header)
    {
        WebSocketRole role = (header[1] & 0x80) != 0 ? WebSocketRole.Server : WebSocketRole.Client;
        byte[] input = [.. header, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]; // payload follows
        var expected = Read(input, role);
        Assert.True(expected.Ok);
        Assert.Equal(header.Length, expected.Consumed);

        void Check(ReadOnlySequence<byte> sequence, string where)
        {
            var reader = new SequenceReader<byte>(sequence);
            Assert.True(FrameReader.TryReadHeader(ref reader, role, out FrameHeader actual, out ProtocolViolation violation), $"{form} {where}");
            Assert.Equal(ProtocolViolation.None, violation);
            Assert.Equal(header.Length, reader.Consumed);
            Assert.Equal(expected.Header.Fin, actual.Fin);
            Assert.Equal(expected.Header.Opcode, actual.Opcode);
            Assert.Equal(expected.Header.Masked, actual.Masked);
            Assert.Equal(expected.Header.MaskKey, actual.MaskKey);
            Assert.Equal(expected.Header.PayloadLength, actual.PayloadLength);
            Assert.Equal(expected.Header.ReservedBits, actual.ReservedBits);
            Assert.Equal(input[header.Length], reader.TryPeek(out byte next) ? next : -1); // positioned at the payload
        }

        // Two and three segments, every pair of cut positions (including empty segments).
        for (int i = 0; i <= input.Length; i++)
        {
            Check(Sequences.Split(input, i), $"cut at {i}");
            for (int j = i; j <= header.Length + 1; j++)
            {
                Check(Sequences.Split(input, i, j), $"cuts at {i},{j}");
            }
        }

        Check(Sequences.OneBytePerSegment(input), "one byte per segment");
        Check(Sequences.Split(input, 0, 0, 1, 1, 2, 2), "empty segments in between");
    }

    // RFC 6455 §5.2: the verdicts on an invalid header are the same however it is segmented.
    [Theory]
    [InlineData("82 FE 00 7D 01 02 03 04", WebSocketRole.Server, ProtocolViolation.NonMinimalLength)]
    [InlineData("82 FF 80 00 00 00 00 00 00 00 01 02 03 04", WebSocketRole.Server, ProtocolViolation.LengthTooLarge)]
    [InlineData("82 FF 00 00 00 00 00 00 FF FF 01 02 03 04", WebSocketRole.Server, ProtocolViolation.NonMinimalLength)]
    [InlineData("83 80 01 02 03 04", WebSocketRole.Server, ProtocolViolation.ReservedOpcode)]
    [InlineData("09 80 01 02 03 04", WebSocketRole.Server, ProtocolViolation.FragmentedControlFrame)]
    [InlineData("89 FE 00 7E 01 02 03 04", WebSocketRole.Server, ProtocolViolation.ControlFrameTooLong)]
    [InlineData("82 05 01 02 03 04 05", WebSocketRole.Server, ProtocolViolation.UnmaskedFrame)]
    [InlineData("82 85 01 02 03 04", WebSocketRole.Client, ProtocolViolation.MaskedFrame)]
    public void Violations_are_the_same_over_any_segmentation(string hex, Enum roleValue, Enum expectedValue)
    {
        var role = (WebSocketRole)roleValue;
        var expected = (ProtocolViolation)expectedValue;

        byte[] input = Hex.Parse(hex);
        for (int i = 0; i <= input.Length; i++)
        {
            var (ok, _, violation, consumed) = Read(Sequences.Split(input, i), role);
            Assert.False(ok);
            Assert.Equal(expected, violation);
            Assert.Equal(0, consumed);
        }

        var split = Read(Sequences.OneBytePerSegment(input), role);
        Assert.Equal(expected, split.Violation);
    }
}
