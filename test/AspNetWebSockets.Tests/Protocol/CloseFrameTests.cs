using System.Buffers.Binary;
using AspNetWebSockets.Protocol;
using AspNetWebSockets.TestShared;
using Xunit;

namespace AspNetWebSockets.Tests.Protocol;

public class CloseFrameTests
{
    /// <summary>
    /// RFC 6455 §7.4.1/§7.4.2 with the IANA registry: the ranges that cover 0..5100, and whether a close frame may
    /// carry them. 1004 is reserved, 1005/1006/1015 are local-only, 1016-2999 are reserved for future RFCs,
    /// 3000-3999 are registered for libraries, 4000-4999 private, 0-999 unused, 5000+ undefined.
    /// </summary>
    public static TheoryData<int, int, bool> CodeRanges() => new()
    {
        { 0, 999, false },
        { 1000, 1003, true },
        { 1004, 1006, false },
        { 1007, 1014, true },
        { 1015, 2999, false },
        { 3000, 4999, true },
        { 5000, 5100, false },
    };

    // The table itself: RFC 6455 §7.4.2 ranges, contiguous over 0..5100.
    [Fact]
    public void Code_ranges_cover_0_to_5100_once()
    {
        int next = 0;
        foreach (var row in CodeRanges())
        {
            Assert.Equal(next, row.Data.Item1);
            next = row.Data.Item2 + 1;
        }

        Assert.Equal(5101, next);
    }

    // RFC 6455 §7.4: which codes may appear on the wire, for every code 0..5100.
    [Theory]
    [MemberData(nameof(CodeRanges))]
    public void IsValidOnWire_classifies_every_code(int first, int last, bool valid)
    {
        for (int code = first; code <= last; code++)
        {
            Assert.True(valid == WebSocketCloseCode.IsValidOnWire(code), $"code {code}");
        }
    }

    // RFC 6455 §5.5.1: a close code is an unsigned 16-bit integer; nothing outside 0..65535 is valid.
    [Theory]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData(65535)]
    [InlineData(65536 + 1000)] // would alias 1000 if truncated to 16 bits
    [InlineData(int.MaxValue)]
    public void IsValidOnWire_rejects_out_of_range_ints(int code)
    {
        Assert.False(WebSocketCloseCode.IsValidOnWire(code));
    }

    // RFC 6455 §5.5.1 / §7.4: a received code is accepted exactly when it is valid on the wire; otherwise 1002.
    [Theory]
    [MemberData(nameof(CodeRanges))]
    public void TryParse_accepts_exactly_the_valid_codes(int first, int last, bool valid)
    {
        var payload = new byte[2];
        for (int code = first; code <= last; code++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)code);
            ProtocolViolation violation = CloseFrame.TryParse(payload, out int parsed, out string reason);
            if (valid)
            {
                Assert.Equal(ProtocolViolation.None, violation);
                Assert.Equal(code, parsed);
                Assert.Equal(string.Empty, reason);
            }
            else
            {
                Assert.Equal(ProtocolViolation.InvalidCloseCode, violation);
                Assert.Equal(WebSocketCloseCode.ProtocolError, violation.ToCloseCode());
            }
        }
    }

    // RFC 6455 §7.4.2: codes of 5000 and above are undefined.
    [Theory]
    [InlineData("FF FF")]
    [InlineData("13 88")] // 5000
    [InlineData("FF FF 6F 6B")]
    public void TryParse_rejects_high_codes(string hex)
    {
        Assert.Equal(ProtocolViolation.InvalidCloseCode, CloseFrame.TryParse(Hex.Parse(hex), out _, out _));
    }

    // RFC 6455 §7.1.5: "If this Close control frame contains no status code, _The WebSocket Connection Close
    // Code_ is considered to be 1005."
    [Fact]
    public void TryParse_empty_payload_is_no_status()
    {
        Assert.Equal(ProtocolViolation.None, CloseFrame.TryParse([], out int code, out string reason));
        Assert.Equal(WebSocketCloseCode.NoStatusReceived, code);
        Assert.Equal(string.Empty, reason);
    }

    // RFC 6455 §5.5.1: a body, if any, "MUST" start with a 2-byte code; one byte is a protocol error.
    [Theory]
    [InlineData("03")]
    [InlineData("E8")]
    [InlineData("00")]
    public void TryParse_one_byte_is_invalid(string hex)
    {
        ProtocolViolation violation = CloseFrame.TryParse(Hex.Parse(hex), out _, out _);
        Assert.Equal(ProtocolViolation.InvalidClosePayload, violation);
        Assert.Equal(WebSocketCloseCode.ProtocolError, violation.ToCloseCode());
    }

    // RFC 6455 §5.5.1: the reason is UTF-8; §8.1: invalid UTF-8 fails the connection with 1007.
    [Theory]
    [InlineData("03 E8 FF")]
    [InlineData("03 E8 80")]
    [InlineData("03 E8 C0 80")] // overlong NUL
    [InlineData("03 E8 ED A0 80")] // surrogate U+D800
    [InlineData("03 E8 F4 90 80 80")] // > U+10FFFF
    [InlineData("03 E8 CE BA E1 BD B9 CE BC CE B5 ED A0 80 65 64 69 74 65 64")] // Autobahn 7.5.1
    [InlineData("03 E8 62 79 65 E2 82")] // truncated at the end
    public void TryParse_invalid_utf8_reason(string hex)
    {
        ProtocolViolation violation = CloseFrame.TryParse(Hex.Parse(hex), out _, out string reason);
        Assert.Equal(ProtocolViolation.InvalidCloseReason, violation);
        Assert.Equal(WebSocketCloseCode.InvalidPayloadData, violation.ToCloseCode());
        Assert.Equal(string.Empty, reason);
    }

    // RFC 6455 §5.5.1: code then reason.
    [Theory]
    [InlineData(1000, "")]
    [InlineData(1001, "bye")]
    [InlineData(3000, "κόσμε")]
    [InlineData(4999, "😀 €")]
    [InlineData(1000, "\0")]
    public void TryParse_reads_code_and_reason(int code, string reason)
    {
        Assert.Equal(ProtocolViolation.None, CloseFrame.TryParse(Frames.ClosePayload(code, reason), out int parsedCode, out string parsedReason));
        Assert.Equal(code, parsedCode);
        Assert.Equal(reason, parsedReason);
    }

    // RFC 6455 §7.4.1: 1005, 1006 and 1015 "MUST NOT be set as a status code in a Close control frame";
    // the others are not defined for the wire. Application misuse throws (ADVISORIES #7).
    [Theory]
    [MemberData(nameof(CloseCodes.InvalidRows), MemberType = typeof(CloseCodes))]
    [InlineData(65536 + 1000)]
    [InlineData(-1)]
    public void Write_rejects_invalid_codes(int code)
    {
        var destination = new byte[125];
        Assert.Throws<ArgumentOutOfRangeException>(() => CloseFrame.Write(destination, code, "reason"));
        Assert.Throws<ArgumentOutOfRangeException>(() => CloseFrame.Write(destination, code, null));
    }

    // RFC 6455 §5.5: 125 bytes of control payload, two for the code: at most 123 bytes of UTF-8 reason.
    public static TheoryData<string, int> TooLongReasons() => new()
    {
        { new string('a', 124), 124 },
        { new string('a', 200), 200 },
        { string.Concat(Enumerable.Repeat("é", 62)), 124 },         // 2-byte chars
        { string.Concat(Enumerable.Repeat("€", 41)) + "a", 124 },   // 3-byte chars
        { string.Concat(Enumerable.Repeat("😀", 31)), 124 },        // 4-byte chars (surrogate pairs)
        { new string('a', 121) + "€", 124 },                     // a multi-byte char crossing the limit
    };

    // RFC 6455 §5.5: a reason that cannot fit is the caller's bug: ArgumentException, not truncation (ADVISORIES #7).
    [Theory]
    [MemberData(nameof(TooLongReasons))]
    public void Write_rejects_reasons_over_123_bytes(string reason, int utf8Length)
    {
        Assert.Equal(utf8Length, System.Text.Encoding.UTF8.GetByteCount(reason));
        var destination = new byte[125];
        var e = Assert.Throws<ArgumentException>(() => CloseFrame.Write(destination, 1000, reason));
        Assert.Equal("reason", e.ParamName);
    }

    public static TheoryData<string> MaximalReasons() => new()
    {
        new string('a', 123),
        string.Concat(Enumerable.Repeat("€", 41)),                 // 123 bytes of 3-byte chars
        string.Concat(Enumerable.Repeat("😀", 30)) + "abc",       // 120 + 3
        string.Concat(Enumerable.Repeat("é", 61)) + "a",          // 122 + 1
        "κόσμε",
        string.Empty,
    };

    // RFC 6455 §5.5.1: up to 123 bytes of UTF-8 reason, however many characters that is.
    [Theory]
    [MemberData(nameof(MaximalReasons))]
    public void Write_accepts_up_to_123_bytes_and_round_trips(string reason)
    {
        int utf8Length = System.Text.Encoding.UTF8.GetByteCount(reason);
        Assert.InRange(utf8Length, 0, 123);
        var destination = new byte[125];

        int written = CloseFrame.Write(destination, 4000, reason);

        Assert.Equal(2 + utf8Length, written);
        Assert.Equal(ProtocolViolation.None, CloseFrame.TryParse(destination.AsSpan(0, written), out int code, out string parsed));
        Assert.Equal(4000, code);
        Assert.Equal(reason, parsed);
    }

    // Built in code: attribute strings are stored as UTF-8, which would turn a lone surrogate into U+FFFD.
    private static readonly string[] LoneSurrogates = ["\uD800", "\uDC00", "a\uD83Db", "bye\uDE00", "\uDE00\uD83D" /* reversed pair */, new string('a', 100) + "\uD800"];

    // RFC 6455 §5.5.1: the reason must be UTF-8; a lone surrogate has no UTF-8 form and must not be replaced
    // with U+FFFD silently (ADVISORIES #7: reject, don't alter what is sent).
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Write_rejects_lone_surrogates(int index)
    {
        string reason = LoneSurrogates[index];
        Assert.False(reason.AsSpan().ContainsAny('\uFFFD', '\uFFFE'));
        var destination = new byte[125];
        var e = Assert.Throws<ArgumentException>(() => CloseFrame.Write(destination, 1000, reason));
        Assert.Equal("reason", e.ParamName);
    }

    // The allocation-free check the decoder uses agrees with TryParse on every 2-byte code and on the reason rules.
    [Theory]
    [InlineData("")]
    [InlineData("03")]
    [InlineData("03 E8")]
    [InlineData("03 E8 62 79 65")]
    [InlineData("03 ED")]
    [InlineData("03 E8 ED A0 80")]
    [InlineData("0F A0 CE BA E1 BD B9 CE BC CE B5")]
    public void Validate_agrees_with_TryParse(string hex)
    {
        byte[] payload = Hex.Parse(hex);
        Assert.Equal(CloseFrame.TryParse(payload, out int parsedCode, out _), CloseFrame.Validate(payload, out int validatedCode));
        Assert.Equal(parsedCode, validatedCode);
    }

    // RFC 6455 §7.4: the same verdict from both entry points for all 65536 codes.
    [Fact]
    public void Validate_agrees_with_TryParse_on_every_16_bit_code()
    {
        var twoBytes = new byte[2];
        for (int code = 0; code <= ushort.MaxValue; code++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(twoBytes, (ushort)code);
            Assert.Equal(CloseFrame.TryParse(twoBytes, out int a, out _), CloseFrame.Validate(twoBytes, out int b));
            Assert.Equal(a, b);
        }
    }

    // RFC 6455 §5.5.1: the code is "a 2-byte unsigned integer (in network byte order)".
    [Theory]
    [InlineData(1000, "03 E8")]
    [InlineData(1001, "03 E9")]
    [InlineData(1014, "03 F6")]
    [InlineData(3000, "0B B8")]
    [InlineData(4999, "13 87")]
    public void Write_encodes_the_code_big_endian(int code, string expected)
    {
        var destination = new byte[125];
        Assert.Equal(2, CloseFrame.Write(destination, code, null));
        Assert.Equal(Hex.Parse(expected), destination[..2]);
        Assert.Equal(2, CloseFrame.Write(destination, code, ""));
    }
}
