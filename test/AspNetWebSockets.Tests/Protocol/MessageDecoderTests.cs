using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using AspNetWebSockets.Protocol;
using Xunit;

namespace AspNetWebSockets.Tests.Protocol;

public class MessageDecoderTests
{
    private const WebSocketOpcode Text = WebSocketOpcode.Text;
    private const WebSocketOpcode Binary = WebSocketOpcode.Binary;
    private const WebSocketOpcode Cont = WebSocketOpcode.Continuation;
    private const WebSocketOpcode Close = WebSocketOpcode.Close;
    private const WebSocketOpcode Ping = WebSocketOpcode.Ping;
    private const WebSocketOpcode Pong = WebSocketOpcode.Pong;

    private static byte[] F(WebSocketOpcode opcode, bool fin, string payload, byte rsv = 0) => Frames.Masked(opcode, fin, Encoding.UTF8.GetBytes(payload), rsv);

    private static byte[] F(WebSocketOpcode opcode, bool fin, byte[] payload, byte rsv = 0) => Frames.Masked(opcode, fin, payload, rsv);

    private static RawEvent DataEvent(WebSocketOpcode type, int length, bool end) => new(DecodeStatus.Data, type, length, end);

    private static RawEvent ControlEvent(WebSocketOpcode opcode, int length) => new(DecodeStatus.Control, opcode, length, true);

    private static DecoderDriver Decode(byte[] stream, int destinationSize = 4096, DecoderLimits? limits = null, byte allowedRsv = 0)
    {
        var driver = new DecoderDriver(WebSocketRole.Server, limits, destinationSize);
        driver.Decoder.AllowedReservedBits = allowedRsv;
        driver.Feed(stream);
        return driver;
    }

    private static void AssertViolation(DecoderDriver driver, ProtocolViolation expected, int closeCode)
    {
        Assert.Equal(expected, driver.Violation);
        Assert.Equal(closeCode, driver.Violation.ToCloseCode());
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    // RFC 6455 §5.4/§5.6: a single unfragmented frame is a whole message.
    [Theory]
    [InlineData(WebSocketOpcode.Text, 0)]
    [InlineData(WebSocketOpcode.Text, 1)]
    [InlineData(WebSocketOpcode.Text, 125)]
    [InlineData(WebSocketOpcode.Text, 126)]
    [InlineData(WebSocketOpcode.Text, 70_000)]
    [InlineData(WebSocketOpcode.Binary, 0)]
    [InlineData(WebSocketOpcode.Binary, 3)]
    [InlineData(WebSocketOpcode.Binary, 65535)]
    [InlineData(WebSocketOpcode.Binary, 65536)]
    public void Single_frame_message(Enum opcodeValue, int length)
    {
        var opcode = (WebSocketOpcode)opcodeValue;

        byte[] payload = opcode == Text ? Encoding.UTF8.GetBytes(new string('κ', length / 2) + new string('x', length % 2)) : RandomBytes(length, length);

        foreach (int destinationSize in new[] { 1 << 20, 4096, 7 })
        {
            DecoderDriver driver = Decode(F(opcode, true, payload), destinationSize);

            Assert.Equal(ProtocolViolation.None, driver.Violation);
            Assert.Equal(0, driver.Unconsumed);
            DecodedItem item = Assert.Single(driver.Items);
            Assert.Equal(opcode, item.Opcode);
            Assert.Equal(payload, item.Payload);
            Assert.True(driver.Events[^1].EndOfMessage);
            Assert.All(driver.Events, e => Assert.InRange(e.Length, 0, destinationSize));
            Assert.False(driver.Decoder.InMessage);
            Assert.Equal(opcode == Text ? WebSocketMessageType.Text : WebSocketMessageType.Binary, driver.Decoder.MessageType);
        }
    }

    // RFC 6455 §5.7: the unmasked examples, read by a client.
    [Theory]
    [InlineData("81 05 48 65 6c 6c 6f", "Hello")]
    [InlineData("01 03 48 65 6c 80 02 6c 6f", "Hello")]
    [InlineData("01 03 48 65 6c 89 00 80 02 6c 6f", "Hello")] // with an empty ping between the fragments
    public void Client_role_decodes_rfc_examples(string hex, string expected)
    {
        var driver = new DecoderDriver(WebSocketRole.Client);
        Assert.Equal(DecodeStatus.NeedMoreData, driver.Feed(Hex.Parse(hex)));
        DecodedItem message = driver.Items.Single(i => i.Opcode == Text);
        Assert.Equal(expected, Encoding.UTF8.GetString(message.Payload));
    }

    // RFC 6455 §5.7: the masked example, read by a server.
    [Fact]
    public void Server_role_decodes_the_masked_rfc_example()
    {
        DecoderDriver driver = Decode(Hex.Parse("81 85 37 fa 21 3d 7f 9f 4d 51 58"));
        Assert.Equal("Hello", Encoding.UTF8.GetString(Assert.Single(driver.Items).Payload));
    }

    // RFC 6455 §5.1: masking direction is enforced by role.
    [Fact]
    public void Masking_direction_is_enforced()
    {
        var server = new DecoderDriver(WebSocketRole.Server);
        server.Feed(Frames.Server(Text, true, "hi"u8));
        AssertViolation(server, ProtocolViolation.UnmaskedFrame, 1002);

        var client = new DecoderDriver(WebSocketRole.Client);
        client.Feed(Frames.Client(Text, true, "hi"u8));
        AssertViolation(client, ProtocolViolation.MaskedFrame, 1002);

        var ok = new DecoderDriver(WebSocketRole.Client);
        ok.Feed(Frames.Server(Binary, true, [1, 2, 3]));
        Assert.Equal([1, 2, 3], Assert.Single(ok.Items).Payload);
    }

    // RFC 6455 §5.4: "Control frames MAY be injected in the middle of a fragmented message."
    [Fact]
    public void Fragmented_message_with_ping_between_fragments()
    {
        byte[] stream = Frames.Concat(F(Text, false, "Hel"), F(Ping, true, "hi"), F(Cont, false, "l"), F(Pong, true, ""), F(Cont, true, "o"));
        DecoderDriver driver = Decode(stream);

        Assert.Equal(
            [DataEvent(Text, 3, false), ControlEvent(Ping, 2), DataEvent(Text, 1, false), ControlEvent(Pong, 0), DataEvent(Text, 1, true)],
            driver.Events);
        Assert.Equal([Ping, Pong, Text], driver.Items.Select(i => i.Opcode));
        Assert.Equal("hi", Encoding.UTF8.GetString(driver.Items[0].Payload));
        Assert.Equal("Hello", Encoding.UTF8.GetString(driver.Items[2].Payload));
    }

    // RFC 6455 §5.4: the decoder keeps InMessage across an interleaved control frame.
    [Fact]
    public void InMessage_spans_interleaved_control_frames()
    {
        var decoder = new MessageDecoder(WebSocketRole.Server, DecoderDriver.DefaultLimits);
        var destination = new byte[64];
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Frames.Concat(F(Binary, false, "ab"), F(Ping, true, "p"), F(Cont, true, "c"))));

        Assert.Equal(DecodeStatus.Data, decoder.Decode(ref reader, destination, out int written, out bool end, out _));
        Assert.Equal((2, false, true), (written, end, decoder.InMessage));
        Assert.Equal(DecodeStatus.Control, decoder.Decode(ref reader, destination, out _, out _, out _));
        Assert.Equal(Ping, decoder.ControlOpcode);
        Assert.Equal("p"u8.ToArray(), decoder.ControlPayload.ToArray());
        Assert.True(decoder.InMessage);
        Assert.Equal(WebSocketMessageType.Binary, decoder.MessageType);
        Assert.Equal(DecodeStatus.Data, decoder.Decode(ref reader, destination, out written, out end, out _));
        Assert.Equal((1, true, false), (written, end, decoder.InMessage));
        Assert.Equal(DecodeStatus.NeedMoreData, decoder.Decode(ref reader, destination, out _, out _, out _));
    }

    // RFC 6455 §5.4: a message may end with an empty final frame, and a whole message may be empty.
    [Fact]
    public void Empty_final_frame_ends_the_message()
    {
        DecoderDriver driver = Decode(Frames.Concat(F(Text, false, "abc"), F(Cont, true, ""), F(Binary, true, ""), F(Text, true, "")));

        Assert.Equal([DataEvent(Text, 3, false), DataEvent(Text, 0, true), DataEvent(Binary, 0, true), DataEvent(Text, 0, true)], driver.Events);
        Assert.Equal([Text, Binary, Text], driver.Items.Select(i => i.Opcode));
        Assert.Equal(["abc", "", ""], driver.Items.Select(i => Encoding.UTF8.GetString(i.Payload)));
    }

    // RFC 6455 §5.4: fragments may be empty; an empty non-final fragment has nothing to report.
    [Fact]
    public void Empty_non_final_fragments_are_skipped()
    {
        byte[] stream = Frames.Concat(F(Text, false, ""), F(Cont, false, ""), F(Cont, false, "x"), F(Cont, false, ""), F(Ping, true, ""), F(Cont, false, ""), F(Cont, true, ""));
        DecoderDriver driver = Decode(stream);

        Assert.Equal(ProtocolViolation.None, driver.Violation);
        Assert.Equal([DataEvent(Text, 1, false), ControlEvent(Ping, 0), DataEvent(Text, 0, true)], driver.Events);
        Assert.Equal("x", Encoding.UTF8.GetString(driver.Items.Single(i => i.Opcode == Text).Payload));
    }

    // RFC 6455 §5.4: a continuation frame needs a started message.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Continuation_without_a_message_is_unexpected(bool fin)
    {
        AssertViolation(Decode(F(Cont, fin, "x")), ProtocolViolation.UnexpectedContinuation, 1002);
        AssertViolation(Decode(Frames.Concat(F(Text, true, "done"), F(Cont, fin, "x"))), ProtocolViolation.UnexpectedContinuation, 1002);
        AssertViolation(Decode(Frames.Concat(F(Ping, true, ""), F(Cont, fin, ""))), ProtocolViolation.UnexpectedContinuation, 1002);
    }

    // RFC 6455 §5.4: "fragments of one message MUST NOT be interleaved between fragments of another".
    [Theory]
    [InlineData(WebSocketOpcode.Text, WebSocketOpcode.Text)]
    [InlineData(WebSocketOpcode.Text, WebSocketOpcode.Binary)]
    [InlineData(WebSocketOpcode.Binary, WebSocketOpcode.Text)]
    [InlineData(WebSocketOpcode.Binary, WebSocketOpcode.Binary)]
    public void New_data_frame_during_a_fragmented_message_is_rejected(Enum firstValue, Enum secondValue)
    {
        var first = (WebSocketOpcode)firstValue;
        var second = (WebSocketOpcode)secondValue;

        foreach (bool fin in new[] { true, false })
        {
            DecoderDriver driver = Decode(Frames.Concat(F(first, false, "a"), F(Ping, true, ""), F(second, fin, "b")));
            AssertViolation(driver, ProtocolViolation.ExpectedContinuation, 1002);
            Assert.Equal([DataEvent(first, 1, false), ControlEvent(Ping, 0)], driver.Events);
        }
    }

    // RFC 6455 §5.2: RSV1-3 "MUST be 0 unless an extension is negotiated"; RFC 7692 §6.1: RSV1 marks only the
    // first frame of a compressed message, and never a control frame (ADVISORIES #17).
    [Theory]
    [InlineData(0, 0x40, 0x00, ProtocolViolation.ReservedBitsSet)] // RSV1 without deflate
    [InlineData(0, 0x20, 0x00, ProtocolViolation.ReservedBitsSet)] // RSV2
    [InlineData(0, 0x10, 0x00, ProtocolViolation.ReservedBitsSet)] // RSV3
    [InlineData(0x40, 0x20, 0x00, ProtocolViolation.ReservedBitsSet)] // RSV2 with only RSV1 negotiated
    [InlineData(0x40, 0x10, 0x00, ProtocolViolation.ReservedBitsSet)] // RSV3 with only RSV1 negotiated
    [InlineData(0x40, 0x60, 0x00, ProtocolViolation.ReservedBitsSet)] // RSV1|RSV2
    [InlineData(0x40, 0x40, 0x40, ProtocolViolation.ReservedBitsSet)] // RSV1 repeated on the continuation
    [InlineData(0x40, 0x00, 0x40, ProtocolViolation.ReservedBitsSet)] // RSV1 only on the continuation
    [InlineData(0x70, 0x40, 0x20, ProtocolViolation.ReservedBitsSet)] // any RSV on a continuation
    [InlineData(0x40, 0x40, 0x00, ProtocolViolation.None)] // compressed message, as negotiated
    [InlineData(0x40, 0x00, 0x00, ProtocolViolation.None)] // uncompressed message with deflate negotiated
    [InlineData(0x00, 0x00, 0x00, ProtocolViolation.None)]
    public void Reserved_bits_on_data_frames(int allowed, int firstRsv, int continuationRsv, Enum expectedValue)
    {
        var expected = (ProtocolViolation)expectedValue;

        foreach (WebSocketOpcode opcode in new[] { Text, Binary })
        {
            DecoderDriver driver = Decode(Frames.Concat(F(opcode, false, "ab", (byte)firstRsv), F(Cont, true, "cd", (byte)continuationRsv)), allowedRsv: (byte)allowed);

            Assert.Equal(expected, driver.Violation);
            if (expected == ProtocolViolation.None)
            {
                Assert.Equal("abcd", Encoding.UTF8.GetString(Assert.Single(driver.Items).Payload));
                Assert.Equal((firstRsv & 0x40) != 0, driver.Decoder.MessageCompressed);
            }
            else
            {
                Assert.Equal(1002, expected.ToCloseCode());
            }
        }
    }

    // RFC 7692 §6.1: "An endpoint MUST NOT set the RSV1 bit on control frames"; RFC 6455 §5.2 for RSV2/3.
    [Theory]
    [InlineData(WebSocketOpcode.Ping, 0x40)]
    [InlineData(WebSocketOpcode.Pong, 0x20)]
    [InlineData(WebSocketOpcode.Close, 0x10)]
    [InlineData(WebSocketOpcode.Ping, 0x70)]
    public void Reserved_bits_on_control_frames_are_rejected_even_when_negotiated(Enum opcodeValue, int rsv)
    {
        var opcode = (WebSocketOpcode)opcodeValue;

        byte[] payload = opcode == Close ? Frames.ClosePayload(1000) : [];
        AssertViolation(Decode(F(opcode, true, payload, (byte)rsv), allowedRsv: ReservedBit.All), ProtocolViolation.ReservedBitsSet, 1002);
    }

    // RFC 7692 §8.1: a compressed text message is validated after inflating, not on the wire.
    [Fact]
    public void Compressed_text_is_not_utf8_validated_on_the_wire()
    {
        DecoderDriver driver = Decode(F(Text, true, [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00], ReservedBit.Rsv1), allowedRsv: ReservedBit.Rsv1);
        Assert.Equal(ProtocolViolation.None, driver.Violation);
        Assert.True(driver.Decoder.MessageCompressed);
    }

    // ADVISORIES #5/#10: limits are checked on the declared length in the header, before any payload is read.
    [Theory]
    [InlineData(100L, 100L, new long[] { 101 }, ProtocolViolation.FrameTooBig)]
    [InlineData(1000L, 100L, new long[] { 60, 101 }, ProtocolViolation.FrameTooBig)]
    [InlineData(100L, 1000L, new long[] { 101 }, ProtocolViolation.MessageTooBig)]
    [InlineData(100L, 1000L, new long[] { 60, 41 }, ProtocolViolation.MessageTooBig)]
    [InlineData(100L, 1000L, new long[] { 50, 0, 50, 1 }, ProtocolViolation.MessageTooBig)]
    [InlineData(100L, 1000L, new long[] { 30, 30, 30, 11 }, ProtocolViolation.MessageTooBig)]
    [InlineData(1L << 20, 1L << 20, new long[] { 10, 0x7FFF_FFFF_FFFF_FFFF }, ProtocolViolation.FrameTooBig)]
    [InlineData(1L << 20, long.MaxValue, new long[] { 10, 0x7FFF_FFFF_FFFF_FFFF }, ProtocolViolation.MessageTooBig)]
    [InlineData(long.MaxValue, long.MaxValue, new long[] { 10, 0x7FFF_FFFF_FFFF_FFFF }, ProtocolViolation.MessageTooBig)] // no overflow (gorilla CVE-2020-27813)
    [InlineData(long.MaxValue, long.MaxValue, new long[] { 65536, 0x7FFF_FFFF_FFFF_FFF0 }, ProtocolViolation.MessageTooBig)]
    public void Size_limits_are_enforced_from_the_header(long maxMessage, long maxFrame, long[] frameLengths, Enum expectedValue)
    {
        var expected = (ProtocolViolation)expectedValue;

        foreach (WebSocketOpcode opcode in new[] { Text, Binary })
        {
            var driver = new DecoderDriver(WebSocketRole.Server, new DecoderLimits(maxMessage, maxFrame, 1000));
            for (int i = 0; i < frameLengths.Length - 1; i++)
            {
                Assert.Equal(DecodeStatus.NeedMoreData, driver.Feed(F(i == 0 ? opcode : Cont, false, new byte[frameLengths[i]])));
            }

            // Only the header of the offending frame is sent: the verdict needs no payload.
            byte[] header = Frames.MaskedHeader(frameLengths.Length == 1 ? opcode : Cont, true, frameLengths[^1]);
            Assert.Equal(DecodeStatus.Violation, driver.Feed(header));
            AssertViolation(driver, expected, 1009);
            Assert.Equal(0, driver.Unconsumed);
        }
    }

    // The same limits, met exactly, are fine; and the budget restarts with each message.
    [Fact]
    public void Size_limits_allow_exactly_the_limit()
    {
        var limits = new DecoderLimits(MaxMessageSize: 100, MaxFrameSize: 60, MaxFragmentsPerMessage: 10);
        byte[] message = Frames.Concat(F(Binary, false, new byte[60]), F(Ping, true, new byte[125]), F(Cont, false, new byte[0]), F(Cont, true, new byte[40]));
        DecoderDriver driver = Decode(Frames.Concat(message, message, F(Text, true, new string('a', 60))), limits: limits);

        Assert.Equal(ProtocolViolation.None, driver.Violation);
        Assert.Equal([Ping, Binary, Ping, Binary, Text], driver.Items.Select(i => i.Opcode));
        Assert.Equal(100, driver.Items[1].Payload.Length);
    }

    // ADVISORIES #5 / ws NSP-120: a declared 2^63-1 byte frame is refused from its header, allocating nothing.
    [Fact]
    public void Declared_max_length_is_message_too_big_without_allocation()
    {
        byte[] header = Frames.MaskedHeader(Binary, true, long.MaxValue);
        var decoder = new MessageDecoder(WebSocketRole.Server, new DecoderLimits(MaxMessageSize: 1 << 20, MaxFrameSize: long.MaxValue, MaxFragmentsPerMessage: 100));
        var destination = new byte[16];
        var sequence = new ReadOnlySequence<byte>(header);

        var warmup = new MessageDecoder(WebSocketRole.Server, decoder.Limits);
        var warmupReader = new SequenceReader<byte>(sequence);
        warmup.Decode(ref warmupReader, destination, out _, out _, out _);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var reader = new SequenceReader<byte>(sequence);
        DecodeStatus status = decoder.Decode(ref reader, destination, out int written, out _, out ProtocolViolation violation);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(DecodeStatus.Violation, status);
        Assert.Equal(ProtocolViolation.MessageTooBig, violation);
        Assert.Equal(1009, violation.ToCloseCode());
        Assert.Equal(0, written);
        Assert.Equal(0, allocated);
    }

    // ADVISORIES #6 (ws CVE-2026-48779): fragments are capped per message, and empty ones count.
    [Theory]
    [InlineData(1, 1, false)]
    [InlineData(1, 2, true)]
    [InlineData(3, 3, false)]
    [InlineData(3, 4, true)]
    [InlineData(100, 100, false)]
    [InlineData(100, 101, true)]
    public void Fragment_limit_counts_empty_fragments(int maxFragments, int fragments, bool tooMany)
    {
        var limits = new DecoderLimits(MaxMessageSize: 1 << 20, MaxFrameSize: 1 << 20, MaxFragmentsPerMessage: maxFragments);
        var frames = new List<byte[]> { F(Text, fragments == 1, "a") };
        for (int i = 1; i < fragments; i++)
        {
            frames.Add(F(Cont, i == fragments - 1, ""));
            if (i % 2 == 0)
            {
                frames.Add(F(Ping, true, "")); // control frames are not fragments of the message
            }
        }

        byte[] message = Frames.Concat([.. frames]);
        DecoderDriver driver = Decode(Frames.Concat(message, message), limits: limits);
        if (tooMany)
        {
            AssertViolation(driver, ProtocolViolation.TooManyFragments, 1008);
            Assert.DoesNotContain(driver.Items, i => i.Opcode == Text);
        }
        else
        {
            Assert.Equal(ProtocolViolation.None, driver.Violation);
            Assert.Equal(2, driver.Items.Count(i => i.Opcode == Text)); // the count restarts for the next message
        }
    }

    // RFC 6455 §8.1 + Autobahn 6.4.x: invalid UTF-8 fails fast across fragment boundaries — when the fragment with
    // the impossible byte arrives, before the final fragment.
    [Theory]
    [InlineData("CE BA E1 BD B9 CE BC CE B5 F4", "90 80 80", 1)]
    [InlineData("CE BA E1 BD B9 CE BC CE B5 ED", "A0 80", 1)]
    [InlineData("CE BA E1 BD B9 CE BC CE B5 F0 9F", "98 41", 4096)]
    [InlineData("CE BA E1 BD B9 CE BC CE B5 E2", "82", 3)]
    [InlineData("CE BA E1 BD B9 CE BC CE B5", "F4 90 80 80", 4096)]
    [InlineData("CE BA", "80", 2)]
    public void Invalid_utf8_fails_fast_across_fragments(string first, string second, int destinationSize)
    {
        byte[] part1 = Hex.Parse(first);
        byte[] part2 = Hex.Parse(second);
        bool secondIsInvalid = Utf8ValidatorTests.FirstImpossibleByte([.. part1, .. part2]) < part1.Length + part2.Length;
        var driver = new DecoderDriver(WebSocketRole.Server, destinationSize: destinationSize);

        Assert.Equal(DecodeStatus.NeedMoreData, driver.Feed(F(Text, false, part1))); // a valid prefix so far
        Assert.Equal(part1.Length, driver.Events.Sum(e => e.Length));

        byte[] frame2 = F(Cont, false, part2);
        int header2 = frame2.Length - part2.Length;
        Assert.Equal(DecodeStatus.NeedMoreData, driver.Feed(frame2[..header2])); // header alone: nothing to judge

        if (secondIsInvalid)
        {
            // The payload of the second fragment, byte by byte: the violation comes with the impossible byte.
            int impossible = Utf8ValidatorTests.FirstImpossibleByte([.. part1, .. part2]) - part1.Length;
            for (int i = 0; i < impossible; i++)
            {
                Assert.Equal(DecodeStatus.NeedMoreData, driver.Feed(frame2[(header2 + i)..(header2 + i + 1)]));
            }

            Assert.Equal(DecodeStatus.Violation, driver.Feed(frame2[(header2 + impossible)..]));
        }
        else
        {
            // Still a valid prefix (e.g. the last fragment would complete it): only the end of the message decides.
            Assert.Equal(DecodeStatus.NeedMoreData, driver.Feed(frame2[header2..]));
            Assert.Equal(DecodeStatus.Violation, driver.Feed(F(Cont, true, "")));
        }

        AssertViolation(driver, ProtocolViolation.InvalidUtf8, 1007);
        Assert.Empty(driver.Items);
    }

    // RFC 6455 §8.1: a text message that ends inside a code point is invalid, however it ends.
    [Theory]
    [InlineData("61 E2 82", true)]
    [InlineData("61 E2 82", false)]
    [InlineData("F0", false)]
    public void Text_ending_inside_a_code_point_is_invalid(string hex, bool endsWithEmptyFrame)
    {
        byte[] bytes = Hex.Parse(hex);
        byte[] stream = endsWithEmptyFrame ? Frames.Concat(F(Text, false, bytes), F(Cont, true, "")) : F(Text, true, bytes);
        AssertViolation(Decode(stream), ProtocolViolation.InvalidUtf8, 1007);
        AssertViolation(Decode(stream, destinationSize: 1), ProtocolViolation.InvalidUtf8, 1007);
    }

    // RFC 6455 §5.6: binary data is opaque: no UTF-8 rules.
    [Fact]
    public void Binary_is_not_utf8_validated()
    {
        byte[] payload = Hex.Parse("ED A0 80 FF C0 80 F4 90");
        DecoderDriver driver = Decode(Frames.Concat(F(Binary, false, payload), F(Cont, true, [0xE2])));
        Assert.Equal(ProtocolViolation.None, driver.Violation);
        Assert.Single(driver.Items);
    }

    // RFC 6455 §5.5.1 and §7.4: close payloads, valid and invalid (Autobahn 7.x).
    [Theory]
    [InlineData("", ProtocolViolation.None)] // Autobahn 7.3.1
    [InlineData("03 E8", ProtocolViolation.None)] // Autobahn 7.3.3
    [InlineData("03 E8 62 79 65", ProtocolViolation.None)]
    [InlineData("0F A0 CE BA E1 BD B9 CE BC CE B5", ProtocolViolation.None)] // 4000 κόσμε
    [InlineData("03", ProtocolViolation.InvalidClosePayload)] // Autobahn 7.3.2
    [InlineData("00 00", ProtocolViolation.InvalidCloseCode)]
    [InlineData("03 E7", ProtocolViolation.InvalidCloseCode)] // 999
    [InlineData("03 EC", ProtocolViolation.InvalidCloseCode)] // 1004
    [InlineData("03 ED", ProtocolViolation.InvalidCloseCode)] // 1005
    [InlineData("03 EE", ProtocolViolation.InvalidCloseCode)] // 1006
    [InlineData("03 F7", ProtocolViolation.InvalidCloseCode)] // 1015
    [InlineData("03 F8", ProtocolViolation.InvalidCloseCode)] // 1016
    [InlineData("0B B7", ProtocolViolation.InvalidCloseCode)] // 2999
    [InlineData("13 88", ProtocolViolation.InvalidCloseCode)] // 5000
    [InlineData("FF FF", ProtocolViolation.InvalidCloseCode)] // 65535
    [InlineData("03 E8 CE BA E1 BD B9 CE BC CE B5 ED A0 80 65 64 69 74 65 64", ProtocolViolation.InvalidCloseReason)] // Autobahn 7.5.1
    [InlineData("03 E8 E2 82", ProtocolViolation.InvalidCloseReason)]
    public void Close_frames_are_parsed(string hex, Enum expectedValue)
    {
        var expected = (ProtocolViolation)expectedValue;

        byte[] payload = Hex.Parse(hex);
        foreach (int chunk in new[] { 1000, 1 })
        {
            var driver = new DecoderDriver(WebSocketRole.Server);
            driver.FeedAll(F(Close, true, payload), chunk);

            Assert.Equal(expected, driver.Violation);
            if (expected == ProtocolViolation.None)
            {
                DecodedItem close = Assert.Single(driver.Items);
                Assert.Equal(Close, close.Opcode);
                Assert.Equal(payload, close.Payload);
                Assert.Equal(Close, driver.Decoder.ControlOpcode);
            }
            else
            {
                Assert.Empty(driver.Items);
                Assert.Equal(expected == ProtocolViolation.InvalidCloseReason ? 1007 : 1002, expected.ToCloseCode());
            }
        }
    }

    // RFC 6455 §5.5: control frames of 125 bytes and less, never fragmented; 126 and up is a protocol error.
    [Theory]
    [InlineData(WebSocketOpcode.Ping, 125, ProtocolViolation.None)]
    [InlineData(WebSocketOpcode.Ping, 126, ProtocolViolation.ControlFrameTooLong)] // Autobahn 2.5
    [InlineData(WebSocketOpcode.Pong, 126, ProtocolViolation.ControlFrameTooLong)]
    [InlineData(WebSocketOpcode.Close, 126, ProtocolViolation.ControlFrameTooLong)] // Autobahn 7.3.6: 124-byte reason
    [InlineData(WebSocketOpcode.Close, 125, ProtocolViolation.None)] // Autobahn 7.3.5: 123-byte reason
    public void Control_frame_length(Enum opcodeValue, int length, Enum expectedValue)
    {
        var opcode = (WebSocketOpcode)opcodeValue;
        var expected = (ProtocolViolation)expectedValue;

        byte[] payload = opcode == Close ? Frames.ClosePayload(1000, new string('r', length - 2)) : RandomBytes(length, length);
        DecoderDriver driver = Decode(F(opcode, true, payload));
        Assert.Equal(expected, driver.Violation);
        if (expected == ProtocolViolation.None)
        {
            Assert.Equal(payload, Assert.Single(driver.Items).Payload);
        }
    }

    // RFC 6455 §5.5: control frames MUST NOT be fragmented (Autobahn 5.1/5.2).
    [Theory]
    [InlineData(WebSocketOpcode.Ping)]
    [InlineData(WebSocketOpcode.Pong)]
    [InlineData(WebSocketOpcode.Close)]
    public void Fragmented_control_frames_are_rejected(Enum opcodeValue)
    {
        var opcode = (WebSocketOpcode)opcodeValue;

        AssertViolation(Decode(F(opcode, false, "")), ProtocolViolation.FragmentedControlFrame, 1002);
    }

    // RFC 6455 §5.2: reserved opcodes fail the connection (Autobahn 4.1.x / 4.2.x), also mid-message.
    [Theory]
    [InlineData(0x3)]
    [InlineData(0x7)]
    [InlineData(0xB)]
    [InlineData(0xF)]
    public void Reserved_opcodes_are_rejected(int opcode)
    {
        AssertViolation(Decode(F((WebSocketOpcode)opcode, true, "")), ProtocolViolation.ReservedOpcode, 1002);
        DecoderDriver driver = Decode(Frames.Concat(F(Text, true, "ok"), F(Binary, false, "a"), F((WebSocketOpcode)opcode, true, "x")));
        AssertViolation(driver, ProtocolViolation.ReservedOpcode, 1002);
        Assert.Single(driver.Items);
    }

    // RFC 6455 §5.2 header-level rules surface through the decoder with their close codes.
    [Theory]
    [InlineData("82 FE 00 7D 01 02 03 04", ProtocolViolation.NonMinimalLength)]
    [InlineData("82 FF 00 00 00 00 00 00 FF FF 01 02 03 04", ProtocolViolation.NonMinimalLength)]
    [InlineData("82 FF 80 00 00 00 00 00 00 00 01 02 03 04", ProtocolViolation.LengthTooLarge)]
    public void Length_encoding_violations(string hex, Enum expectedValue)
    {
        var expected = (ProtocolViolation)expectedValue;

        AssertViolation(Decode(Hex.Parse(hex)), expected, 1002);
    }

    // RFC 6455 §5.5: a control payload may arrive over many reads; it is reassembled and unmasked whole.
    [Theory]
    [InlineData(WebSocketOpcode.Ping, 125)]
    [InlineData(WebSocketOpcode.Pong, 17)]
    [InlineData(WebSocketOpcode.Close, 125)]
    public void Control_payload_split_over_many_reads(Enum opcodeValue, int length)
    {
        var opcode = (WebSocketOpcode)opcodeValue;

        byte[] payload = opcode == Close ? Frames.ClosePayload(1001, new string('é', (length - 2) / 2) + new string('x', (length - 2) % 2)) : RandomBytes(length, 5);
        byte[] frame = F(opcode, true, payload);
        var driver = new DecoderDriver(WebSocketRole.Server);

        for (int i = 0; i < frame.Length - 1; i++)
        {
            Assert.Equal(DecodeStatus.NeedMoreData, driver.Feed(frame[i..(i + 1)]));
            Assert.Empty(driver.Items);
        }

        Assert.Equal(DecodeStatus.NeedMoreData, driver.Feed(frame[^1..]));
        DecodedItem item = Assert.Single(driver.Items);
        Assert.Equal(opcode, item.Opcode);
        Assert.Equal(payload, item.Payload);
        Assert.Equal(0, driver.Unconsumed);
    }

    // A destination of one byte still makes progress: one payload byte per call.
    [Theory]
    [InlineData(WebSocketOpcode.Binary)]
    [InlineData(WebSocketOpcode.Text)]
    public void Destination_of_one_byte_makes_progress(Enum opcodeValue)
    {
        var opcode = (WebSocketOpcode)opcodeValue;

        byte[] payload = opcode == Text ? Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("aé€😀", 50))) : RandomBytes(1000, 1);
        byte[] stream = Frames.Concat(F(opcode, false, payload[..300]), F(Ping, true, "x"), F(Cont, true, payload[300..]));

        DecoderDriver driver = Decode(stream, destinationSize: 1);

        Assert.Equal(ProtocolViolation.None, driver.Violation);
        Assert.All(driver.Events.Where(e => e.Status == DecodeStatus.Data), e => Assert.Equal(1, e.Length));
        Assert.Equal(payload.Length + 1, driver.Events.Count);
        Assert.Equal(payload, driver.Items.Single(i => i.Opcode == opcode).Payload);
    }

    // Sans-I/O contract: a call stops at the end of a frame's payload; what follows is left for the next call.
    [Fact]
    public void Bytes_after_a_frame_are_left_for_the_next_call()
    {
        byte[] first = F(Binary, true, "one");
        byte[] ping = F(Ping, true, "p");
        byte[] second = F(Text, true, "two");
        byte[] partial = F(Binary, true, "three")[..3];
        var decoder = new MessageDecoder(WebSocketRole.Server, DecoderDriver.DefaultLimits);
        var destination = new byte[100];
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Frames.Concat(first, ping, second, partial)));

        Assert.Equal(DecodeStatus.Data, decoder.Decode(ref reader, destination, out int written, out bool end, out _));
        Assert.Equal((3, true), (written, end));
        Assert.Equal(first.Length, reader.Consumed);

        Assert.Equal(DecodeStatus.Control, decoder.Decode(ref reader, destination, out _, out _, out _));
        Assert.Equal(first.Length + ping.Length, reader.Consumed);

        Assert.Equal(DecodeStatus.Data, decoder.Decode(ref reader, destination, out written, out end, out _));
        Assert.Equal("two", Encoding.UTF8.GetString(destination, 0, written));
        Assert.Equal(first.Length + ping.Length + second.Length, reader.Consumed);

        // A partial header: need more data, and it stays unconsumed so the caller can keep it.
        Assert.Equal(DecodeStatus.NeedMoreData, decoder.Decode(ref reader, destination, out written, out _, out ProtocolViolation violation));
        Assert.Equal((0, ProtocolViolation.None), (written, violation));
        Assert.Equal(3, reader.Remaining);
    }

    // A payload larger than the destination is delivered over several calls, never more than fits.
    [Fact]
    public void Payload_is_chunked_to_the_destination()
    {
        byte[] payload = RandomBytes(10_000, 3);
        DecoderDriver driver = Decode(F(Binary, true, payload), destinationSize: 4096);
        Assert.Equal([DataEvent(Binary, 4096, false), DataEvent(Binary, 4096, false), DataEvent(Binary, 1808, true)], driver.Events);
        Assert.Equal(payload, Assert.Single(driver.Items).Payload);
    }

    // ADVISORIES #11/#12 (CVE-2021-26423, CVE-2026-62901): no call spins. Empty input and partial headers return
    // NeedMoreData without consuming; every other call consumes.
    [Fact]
    public void Empty_and_partial_input_needs_more_data()
    {
        var decoder = new MessageDecoder(WebSocketRole.Server, DecoderDriver.DefaultLimits);
        var destination = new byte[8];
        var empty = new SequenceReader<byte>(ReadOnlySequence<byte>.Empty);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(DecodeStatus.NeedMoreData, decoder.Decode(ref empty, destination, out _, out _, out _));
        }

        byte[] frame = F(Binary, true, new byte[300]);
        for (int cut = 1; cut < 8; cut++) // 8-byte header: 2 + 2 + 4
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(frame, 0, cut));
            Assert.Equal(DecodeStatus.NeedMoreData, decoder.Decode(ref reader, destination, out _, out _, out ProtocolViolation violation));
            Assert.Equal(ProtocolViolation.None, violation);
            Assert.Equal(0, reader.Consumed);
        }

        // Mid-payload, out of input: need more data, everything consumed.
        var header = new SequenceReader<byte>(new ReadOnlySequence<byte>(frame, 0, 8));
        Assert.Equal(DecodeStatus.NeedMoreData, decoder.Decode(ref header, destination, out _, out _, out _));
        Assert.Equal(8, header.Consumed);
        Assert.Equal(DecodeStatus.NeedMoreData, decoder.Decode(ref empty, destination, out _, out _, out _));
    }

    // ADVISORIES #11: with every chunking of a stream, every call either consumes or asks for more or fails
    // (the driver asserts this per call), and the number of calls is bounded by the input size.
    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 3)]
    [InlineData(2, 1)]
    [InlineData(7, 5)]
    [InlineData(13, 64)]
    [InlineData(1000, 1)]
    public void Every_call_makes_progress(int chunkSize, int destinationSize)
    {
        byte[] stream = Frames.Concat(
            F(Text, false, "κόσμε"), F(Cont, false, ""), F(Ping, true, "ping"), F(Cont, true, "!"),
            F(Binary, true, new byte[200]), F(Pong, true, ""), F(Close, true, Frames.ClosePayload(1000, "bye")));
        var driver = new DecoderDriver(WebSocketRole.Server, destinationSize: destinationSize);

        driver.FeedAll(stream, chunkSize);

        Assert.Equal(ProtocolViolation.None, driver.Violation);
        Assert.Equal([Ping, Text, Binary, Pong, Close], driver.Items.Select(i => i.Opcode));
        Assert.Equal("κόσμε!", Encoding.UTF8.GetString(driver.Items[1].Payload));
        Assert.InRange(driver.Calls, 1, 2 * stream.Length + (stream.Length / chunkSize) + 2);
    }

    // The limits can be changed between calls (per-endpoint configuration).
    [Fact]
    public void Limits_can_be_replaced()
    {
        var driver = new DecoderDriver(WebSocketRole.Server, new DecoderLimits(10, 10, 10));
        driver.Feed(F(Binary, true, new byte[10]));
        driver.Decoder.Limits = new DecoderLimits(5, 5, 10);
        Assert.Equal(new DecoderLimits(5, 5, 10), driver.Decoder.Limits);
        driver.Feed(F(Binary, true, new byte[6]));
        AssertViolation(driver, ProtocolViolation.FrameTooBig, 1009);
    }

    // RFC 6455 §5.2: only RSV1-3 exist to be negotiated; other bits of the setter's value are dropped.
    [Fact]
    public void AllowedReservedBits_keeps_only_reserved_bits()
    {
        var decoder = new MessageDecoder(WebSocketRole.Server, DecoderDriver.DefaultLimits) { AllowedReservedBits = 0xFF };
        Assert.Equal(ReservedBit.All, decoder.AllowedReservedBits);
    }

    // ADVISORIES #17: each violation fails the connection with the close code RFC 6455 §7.4.1 assigns.
    [Theory]
    [InlineData(ProtocolViolation.None, 1000)]
    [InlineData(ProtocolViolation.UnmaskedFrame, 1002)]
    [InlineData(ProtocolViolation.MaskedFrame, 1002)]
    [InlineData(ProtocolViolation.ReservedBitsSet, 1002)]
    [InlineData(ProtocolViolation.ReservedOpcode, 1002)]
    [InlineData(ProtocolViolation.ControlFrameTooLong, 1002)]
    [InlineData(ProtocolViolation.FragmentedControlFrame, 1002)]
    [InlineData(ProtocolViolation.NonMinimalLength, 1002)]
    [InlineData(ProtocolViolation.LengthTooLarge, 1002)]
    [InlineData(ProtocolViolation.UnexpectedContinuation, 1002)]
    [InlineData(ProtocolViolation.ExpectedContinuation, 1002)]
    [InlineData(ProtocolViolation.InvalidClosePayload, 1002)]
    [InlineData(ProtocolViolation.InvalidCloseCode, 1002)]
    [InlineData(ProtocolViolation.InvalidUtf8, 1007)]
    [InlineData(ProtocolViolation.InvalidCloseReason, 1007)]
    [InlineData(ProtocolViolation.InvalidCompressedData, 1007)]
    [InlineData(ProtocolViolation.MessageTooBig, 1009)]
    [InlineData(ProtocolViolation.FrameTooBig, 1009)]
    [InlineData(ProtocolViolation.TooManyFragments, 1008)]
    public void Violations_map_to_close_codes(Enum violationValue, int closeCode)
    {
        var violation = (ProtocolViolation)violationValue;

        Assert.Equal(closeCode, violation.ToCloseCode());
        Assert.False(string.IsNullOrWhiteSpace(violation.Describe()));
        Assert.NotEqual(violation.ToString(), violation.Describe());
    }

    // A new violation must be added to the mapping theory above (and get its RFC 6455 §7.4.1 code).
    [Fact]
    public void Every_violation_is_mapped()
    {
        Assert.Equal(19, Enum.GetValues<ProtocolViolation>().Length); // the theory above lists them all
    }

    [Fact]
    public void Control_payloads_short_and_long_split_byte_by_byte_keep_their_bytes_and_short_ones_allocate_nothing()
    {
        // Up to 8 bytes live inline, longer ones in an array made on first use: alternate them, split at every byte.
        byte[][] payloads = [[1, 2, 3, 4, 5, 6, 7, 8], [.. Enumerable.Range(0, 125).Select(i => (byte)i)], [], [9], [.. Enumerable.Range(0, 9).Select(i => (byte)(200 + i))], [42, 43]];
        byte[] stream = [.. payloads.SelectMany((p, i) => F(i % 2 == 0 ? Ping : Pong, true, p))];
        var decoder = new MessageDecoder(WebSocketRole.Server, new DecoderLimits(1 << 20, 1 << 20, 16));
        var reader = new SequenceReader<byte>(Sequences.OneBytePerSegment(stream));
        var destination = new byte[16];
        foreach (byte[] expected in payloads)
        {
            DecodeStatus status;
            do
            {
                status = decoder.Decode(ref reader, destination, out _, out _, out _);
            }
            while (status == DecodeStatus.NeedMoreData && reader.Remaining > 0);

            Assert.Equal(DecodeStatus.Control, status);
            Assert.Equal(expected, decoder.ControlPayload.ToArray());
            Assert.Equal(expected, decoder.ControlPayloadMemory.ToArray()); // an inline payload moves to the array for a pong
            Assert.Equal(expected, decoder.ControlPayload.ToArray());
        }

        // A connection that only ever gets short control frames (the pongs of keep-alive pings) never makes the array: the
        // least of three runs, as the runtime may allocate on this thread now and then.
        byte[] pongs = [.. F(Pong, true, [1, 2, 3, 4, 5, 6, 7, 8]), .. F(Pong, true, [8, 7])];
        long allocated = long.MaxValue;
        for (int run = 0; run < 3 && allocated != 0; run++)
        {
            var quiet = new MessageDecoder(WebSocketRole.Server, new DecoderLimits(1 << 20, 1 << 20, 16));
            var input = new SequenceReader<byte>(new ReadOnlySequence<byte>(pongs));
            long before = GC.GetAllocatedBytesForCurrentThread();
            DecodeStatus first = quiet.Decode(ref input, destination, out _, out _, out _);
            int firstLength = quiet.ControlPayload.Length;
            DecodeStatus second = quiet.Decode(ref input, destination, out _, out _, out _);
            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
            Assert.Equal((DecodeStatus.Control, 8, DecodeStatus.Control), (first, firstLength, second));
            Assert.Equal([8, 7], quiet.ControlPayload.ToArray());
        }

        Assert.Equal(0, allocated);
    }
}
