using AspNetWebSockets.Handshake;
using Xunit;
using static AspNetWebSockets.Tests.Handshake.HandshakeRequests;

namespace AspNetWebSockets.Tests.Handshake;

public class ExtensionHeaderParserTests
{
    /// <summary>Compact rendering for expectations: offers joined by ',', params as ';name' or ';name=value' (unescaped).</summary>
    internal static string Render(IEnumerable<ExtensionOffer> offers) =>
        string.Join(",", offers.Select(o => o.Name + string.Concat(o.Parameters.Select(p => ";" + p.Key + (p.Value is null ? "" : "=" + p.Value)))));

    [Theory]
    [InlineData("permessage-deflate", "permessage-deflate")]
    [InlineData("permessage-deflate; client_max_window_bits", "permessage-deflate;client_max_window_bits")]
    [InlineData("permessage-deflate; client_max_window_bits=10; server_no_context_takeover",
        "permessage-deflate;client_max_window_bits=10;server_no_context_takeover")]
    [InlineData("permessage-deflate; server_max_window_bits=10, permessage-deflate",
        "permessage-deflate;server_max_window_bits=10,permessage-deflate")]
    [InlineData("a, b; x=1, c", "a,b;x=1,c")]
    [InlineData("a\nb; y\nc", "a,b;y,c")]                       // several header lines, in order
    [InlineData("foo ; bar = 1 ,\tbaz", "foo;bar=1,baz")]      // OWS around , ; =
    [InlineData("a,,b", "a,b")]                                // empty elements ignored
    [InlineData(", a ,", "a")]
    [InlineData("", "")]
    [InlineData("foo; bar=\"baz\"", "foo;bar=baz")]
    [InlineData("foo; bar=\"b\\az\"", "foo;bar=baz")]          // quoted-pair
    [InlineData("foo; bar=\"\\1\\5\"", "foo;bar=15")]
    [InlineData("permessage-deflate; client_max_window_bits=\"15\"", "permessage-deflate;client_max_window_bits=15")]
    [InlineData("p; a=1; a=2", "p;a=1;a=2")]                   // duplicate params kept for the extension to decline
    [InlineData("constructor", "constructor")]                 // ADVISORIES #3: plain data
    [InlineData("__proto__; constructor=prototype", "__proto__;constructor=prototype")]
    [InlineData("toString; hasOwnProperty=\"__proto__\"", "toString;hasOwnProperty=__proto__")]
    public void ParsesValidHeaders(string header, string expected)
    {
        var offers = new List<ExtensionOffer>();
        bool ok = ExtensionHeaderParser.TryParse(Lines(header), HandshakeValidator.MaxListHeaderLength, offers);
        Assert.True(ok);
        Assert.Equal(expected, Render(offers));
        Assert.True(ExtensionHeaderParser.IsValid(Lines(header), HandshakeValidator.MaxListHeaderLength));
    }

    [Fact]
    public void QuotedValueIsUnescapedAndAbsentValueIsNull()
    {
        var offers = new List<ExtensionOffer>();
        Assert.True(ExtensionHeaderParser.TryParse("x; a=\"v\\a\\l\"; b", 100, offers));
        ExtensionOffer offer = Assert.Single(offers);
        Assert.Equal("x", offer.Name);
        Assert.Equal([new("a", "val"), new KeyValuePair<string, string?>("b", null)], offer.Parameters);
    }

    [Theory]
    [InlineData("a; b=\"\\c\\c\\c\\c\\c\\c\\c\\c")]   // ADVISORIES #2: unclosed quoted string of backslash pairs
    [InlineData("a; b=\"abc")]
    [InlineData("a; b=\"abc\\")]                       // backslash escape at the end
    [InlineData("a; b=\"ab\\\"")]                      // the only quote is escaped → unclosed
    [InlineData("a; b=\"a b\"")]                       // RFC 6455 §9.1: unescaped value must be a token
    [InlineData("a; b=\"\"")]
    [InlineData("a; b=\"\\\"\"")]                      // unescapes to a quote: not a token
    [InlineData("a; b=\"\\\\\\\\\"")]                  // unescapes to two backslashes: not a token
    [InlineData("a; b=\"x\"y")]
    [InlineData(";constructor")]                       // ADVISORIES #3: empty name
    [InlineData(",;constructor")]
    [InlineData("a,;b")]
    [InlineData("a;")]
    [InlineData("a; b=1;")]
    [InlineData("a;;b")]
    [InlineData("a; =1")]
    [InlineData("a; b=")]
    [InlineData("a; b=,c")]
    [InlineData("a; b==c")]
    [InlineData("a=1")]
    [InlineData("a b")]
    [InlineData("a; b=c d")]
    [InlineData("a; b c")]
    [InlineData("\"a\"")]
    [InlineData("a/1")]
    [InlineData("d\u00e9flate")]
    [InlineData("a\0")]
    [InlineData("a\r")]
    [InlineData("ok\nbad header")]                     // one bad line fails the whole header
    public void RejectsSyntaxErrors(string header)
    {
        var offers = new List<ExtensionOffer> { new("existing", []) };
        Assert.False(ExtensionHeaderParser.TryParse(Lines(header), HandshakeValidator.MaxListHeaderLength, offers));
        Assert.Equal("existing", Render(offers)); // nothing half-parsed left behind
        Assert.False(ExtensionHeaderParser.IsValid(Lines(header), HandshakeValidator.MaxListHeaderLength));
        Assert.Equal(HandshakeFailure.InvalidExtensionsHeader,
            HandshakeValidator.Validate(Valid with { SecWebSocketExtensions = Lines(header) }));
    }

    [Theory]
    [InlineData(10, "abcdefghij", true, 1)]
    [InlineData(9, "abcdefghij", false, 0)]
    [InlineData(10, "abcde\nfghij", true, 2)]
    [InlineData(9, "abcde\nfghij", false, 0)] // the cap sums header lines
    public void LengthCap(int maxLength, string header, bool expected, int expectedOffers)
    {
        var offers = new List<ExtensionOffer>();
        Assert.Equal(expected, ExtensionHeaderParser.TryParse(Lines(header), maxLength, offers));
        Assert.Equal(expectedOffers, offers.Count);
    }

    [Fact]
    public void ToStringRoundTrips()
    {
        var offers = new List<ExtensionOffer>();
        Assert.True(ExtensionHeaderParser.TryParse("permessage-deflate; client_max_window_bits=\"15\"; server_no_context_takeover", 200, offers));
        Assert.Equal("permessage-deflate; client_max_window_bits=15; server_no_context_takeover", offers[0].ToString());
    }
}
