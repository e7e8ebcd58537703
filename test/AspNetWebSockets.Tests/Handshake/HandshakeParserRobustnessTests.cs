using System.Text;
using AspNetWebSockets.Handshake;
using Microsoft.Extensions.Primitives;
using Xunit;
using static AspNetWebSockets.Tests.Handshake.HandshakeRequests;

namespace AspNetWebSockets.Tests.Handshake;

/// <summary>Hostile and random inputs: linear time, bounded work, never an exception (ADVISORIES #1–#4).</summary>
public class HandshakeParserRobustnessTests
{
    [Fact]
    public void SixtyFourKibOfSpacesInSubProtocolIsRejected()
    {
        // ADVISORIES #1 (ws CVE-2021-32640): "b" + spaces + "x" made a split/trim regex quadratic.
        string header = "b" + new string(' ', 64 * 1024) + "x";
        bool parsed = HeaderTokens.TryParseTokenList(header, HandshakeValidator.MaxListHeaderLength, null);
        HandshakeFailure failure = HandshakeValidator.Validate(Valid with { SecWebSocketProtocol = header });

        Assert.False(parsed);
        Assert.Equal(HandshakeFailure.InvalidSubProtocolHeader, failure);
    }

    [Fact]
    public void SpacesJustUnderTheCapAreStillLinear()
    {
        // Under the cap the parser must actually scan; spaces inside an element are still a syntax error.
        string inner = "b" + new string(' ', HandshakeValidator.MaxListHeaderLength - 2) + "x";
        string between = "b," + new string(' ', HandshakeValidator.MaxListHeaderLength - 3) + "x";
        var tokens = new List<string>();
        Assert.False(HeaderTokens.TryParseTokenList(inner, HandshakeValidator.MaxListHeaderLength, tokens));
        Assert.True(HeaderTokens.TryParseTokenList(between, HandshakeValidator.MaxListHeaderLength, tokens));
        Assert.Equal(["b", "x"], tokens);
    }

    [Fact]
    public void LongValidSubProtocolHeaderIsAccepted()
    {
        var builder = new StringBuilder();
        int n = 0;
        while (builder.Length < 3990)
        {
            builder.Append(n == 0 ? "" : ", ").Append("proto").Append(n++);
        }

        string header = builder.ToString();
        Assert.InRange(header.Length, 3990, HandshakeValidator.MaxListHeaderLength);
        var tokens = new List<string>();
        Assert.True(HeaderTokens.TryParseTokenList(header, HandshakeValidator.MaxListHeaderLength, tokens));
        Assert.Equal(n, tokens.Count);
        Assert.Equal(HandshakeFailure.None, HandshakeValidator.Validate(Valid with { SecWebSocketProtocol = header }));
    }

    [Theory]
    [InlineData(HandshakeValidator.MaxListHeaderLength, true)]
    [InlineData(HandshakeValidator.MaxListHeaderLength + 1, false)]
    public void CapBoundaryForBothListHeaders(int length, bool expected)
    {
        string header = new('a', length);
        Assert.Equal(expected, HeaderTokens.TryParseTokenList(header, HandshakeValidator.MaxListHeaderLength, null));
        Assert.Equal(expected, ExtensionHeaderParser.IsValid(header, HandshakeValidator.MaxListHeaderLength));
    }

    [Theory]
    [InlineData(1_000)]    // within the cap: the scan must run to the end and fail on the missing quote
    [InlineData(40_000)]   // far over the cap: refused before scanning
    public void UnclosedBackslashQuotedStringIsRejected(int pairs)
    {
        // ADVISORIES #2 (websocket-extensions CVE-2020-7662/7663): exponential regex backtracking.
        string header = "a; b=\"" + new StringBuilder().Insert(0, "\\c", pairs);
        bool parsed = ExtensionHeaderParser.TryParse(header, HandshakeValidator.MaxListHeaderLength, []);
        HandshakeFailure failure = HandshakeValidator.Validate(Valid with { SecWebSocketExtensions = header });

        Assert.False(parsed);
        Assert.Equal(HandshakeFailure.InvalidExtensionsHeader, failure);
    }

    [Fact]
    public void ClosedBackslashQuotedStringParses()
    {
        string header = "a; b=\"" + new StringBuilder().Insert(0, "\\c", 1000) + "\"";
        var offers = new List<ExtensionOffer>();
        Assert.True(ExtensionHeaderParser.TryParse(header, HandshakeValidator.MaxListHeaderLength, offers));
        Assert.Equal(new string('c', 1000), offers[0].Parameters[0].Value);
    }

    [Theory]
    [InlineData("constructor")]
    [InlineData("__proto__")]
    [InlineData("hasOwnProperty")]
    public void PrototypeNamesAreOrdinaryData(string name)
    {
        // ADVISORIES #3 (ws NSP-550): these names crashed a server through object-keyed lookups.
        string header = $"{name}; {name}={name}; {name}, permessage-deflate";
        var offers = new List<ExtensionOffer>();
        Assert.True(ExtensionHeaderParser.TryParse(header, HandshakeValidator.MaxListHeaderLength, offers));
        Assert.Equal($"{name};{name}={name};{name},permessage-deflate", ExtensionHeaderParserTests.Render(offers));
        Assert.Equal(name, SubProtocolSelector.Select([name], [name]));
        Assert.True(HeaderTokens.TryParseTokenList(name, HandshakeValidator.MaxListHeaderLength, null));
    }

    [Fact]
    public void RandomInputsNeverThrow()
    {
        // Seeded so a failure reproduces; the alphabet is weighted toward the grammar's delimiters.
        const string alphabet = "a ,;=\"\\\t\r\n\0b-_.!~zZ9\u00e9\u20ac/:[]@";
        var random = new Random(20_000);
        var offers = new List<ExtensionOffer>();
        var tokens = new List<string>();
        var chars = new char[64];
        string[] allowed = ["https://example.com", "null", "http://[::1]:5000", "bogus entry"];
        Span<char> accept = stackalloc char[WebSocketAccept.Length];

        for (int i = 0; i < 20_000; i++)
        {
            int length = random.Next(chars.Length + 1);
            for (int j = 0; j < length; j++)
            {
                chars[j] = alphabet[random.Next(alphabet.Length)];
            }

            string text = new(chars, 0, length);
            StringValues values = random.Next(4) == 0 ? new StringValues([text, text[..(length / 2)]]) : text;
            offers.Clear();
            tokens.Clear();

            HeaderTokens.Contains(values, "upgrade");
            bool tokenOk = HeaderTokens.TryParseTokenList(values, 48, tokens);
            bool extOk = ExtensionHeaderParser.TryParse(values, 48, offers);
            Assert.Equal(extOk, ExtensionHeaderParser.IsValid(values, 48));
            if (!tokenOk)
            {
                Assert.Empty(tokens);
            }

            if (extOk)
            {
                // Whatever parsed re-serializes to something that parses to the same offers.
                string rendered = string.Join(", ", offers.Select(o => o.ToString()));
                var again = new List<ExtensionOffer>();
                Assert.True(ExtensionHeaderParser.TryParse(rendered, int.MaxValue, again));
                Assert.Equal(ExtensionHeaderParserTests.Render(offers), ExtensionHeaderParserTests.Render(again));
            }
            else
            {
                Assert.Empty(offers);
            }

            HandshakeValidator.Validate(Valid with
            {
                Upgrade = values,
                Connection = values,
                SecWebSocketKey = values,
                SecWebSocketVersion = values,
            });
            HandshakeValidator.Validate(Valid with { SecWebSocketProtocol = values, SecWebSocketExtensions = values });
            HandshakeValidator.Validate(Valid with { Host = values, Method = text, Protocol = text });
            OriginPolicy.IsAllowed(text, text, "https", allowed, allowAny: false);
            OriginPolicy.IsAllowed(text, "example.com", text, [text], allowAny: false);
            OriginPolicy.TryNormalize(text, out _);
            WebSocketAccept.TryCompute(text, accept, out _);
        }
    }
}
