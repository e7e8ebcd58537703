using AspNetWebSockets.Handshake;
using Microsoft.Extensions.Primitives;
using Xunit;
using static AspNetWebSockets.Tests.Handshake.HandshakeRequests;

namespace AspNetWebSockets.Tests.Handshake;

public class HandshakeValidatorTests
{
    [Fact]
    public void ValidRequestPasses()
    {
        HandshakeFailure result = HandshakeValidator.Validate(Valid);
        Assert.Equal(HandshakeFailure.None, result);
        Assert.Equal(101, result.ToStatusCode());
    }

    // Each case breaks exactly one thing in an otherwise valid request. Keyed by name because the request and
    // enum types are internal and cannot appear in a public theory's signature.
    private static readonly Dictionary<string, (Func<HandshakeRequest, HandshakeRequest> Mutate, HandshakeFailure Expected)> s_failures = new()
    {
        ["no Upgrade header"] = (r => r with { Upgrade = StringValues.Empty }, HandshakeFailure.NotWebSocketUpgrade),
        ["Upgrade: h2c"] = (r => r with { Upgrade = "h2c" }, HandshakeFailure.NotWebSocketUpgrade),
        ["Upgrade: websocketx"] = (r => r with { Upgrade = "websocketx" }, HandshakeFailure.NotWebSocketUpgrade),
        ["plain POST (426 beats 405)"] = (r => r with { Upgrade = StringValues.Empty, Method = "POST" }, HandshakeFailure.NotWebSocketUpgrade),
        ["POST"] = (r => r with { Method = "POST" }, HandshakeFailure.MethodNotAllowed),
        ["CONNECT over HTTP/1.1"] = (r => r with { Method = "CONNECT" }, HandshakeFailure.MethodNotAllowed),
        ["lower-case get"] = (r => r with { Method = "get" }, HandshakeFailure.MethodNotAllowed),
        ["HTTP/1.0"] = (r => r with { Protocol = "HTTP/1.0" }, HandshakeFailure.HttpVersionNotSupported),
        ["HTTP/0.9"] = (r => r with { Protocol = "HTTP/0.9" }, HandshakeFailure.HttpVersionNotSupported),
        ["HTTP/1"] = (r => r with { Protocol = "HTTP/1" }, HandshakeFailure.HttpVersionNotSupported),
        ["http/1.1 lower case"] = (r => r with { Protocol = "http/1.1" }, HandshakeFailure.HttpVersionNotSupported),
        ["empty protocol"] = (r => r with { Protocol = "" }, HandshakeFailure.HttpVersionNotSupported),
        ["garbage protocol"] = (r => r with { Protocol = "HTTP/x.y" }, HandshakeFailure.HttpVersionNotSupported),
        ["no Host"] = (r => r with { Host = StringValues.Empty }, HandshakeFailure.MissingHost),
        ["empty Host"] = (r => r with { Host = "" }, HandshakeFailure.MissingHost),
        ["blank Host"] = (r => r with { Host = " \t" }, HandshakeFailure.MissingHost),
        ["two Host lines"] = (r => r with { Host = new(["a.com", "b.com"]) }, HandshakeFailure.MissingHost),
        ["no Connection"] = (r => r with { Connection = StringValues.Empty }, HandshakeFailure.MissingConnectionUpgrade),
        ["Connection: keep-alive"] = (r => r with { Connection = "keep-alive" }, HandshakeFailure.MissingConnectionUpgrade),
        ["Connection: upgradex"] = (r => r with { Connection = "upgradex" }, HandshakeFailure.MissingConnectionUpgrade),
        ["Connection: keep-alive upgrade (no comma)"] = (r => r with { Connection = "keep-alive upgrade" }, HandshakeFailure.MissingConnectionUpgrade),
        ["Content-Length: 5"] = (r => r with { ContentLength = 5 }, HandshakeFailure.RequestBodyNotAllowed),
        ["Content-Length: -1"] = (r => r with { ContentLength = -1 }, HandshakeFailure.RequestBodyNotAllowed),
        ["Transfer-Encoding: chunked"] = (r => r with { TransferEncoding = "chunked" }, HandshakeFailure.RequestBodyNotAllowed),
        ["missing key"] = (r => r with { SecWebSocketKey = StringValues.Empty }, HandshakeFailure.InvalidKey),
        ["two key lines"] = (r => r with { SecWebSocketKey = new([SampleKey, SampleKey]) }, HandshakeFailure.DuplicateKey),
        ["missing version"] = (r => r with { SecWebSocketVersion = StringValues.Empty }, HandshakeFailure.UnsupportedVersion),
        ["version 8"] = (r => r with { SecWebSocketVersion = "8" }, HandshakeFailure.UnsupportedVersion),
        ["protocol with space inside"] = (r => r with { SecWebSocketProtocol = "chat v2" }, HandshakeFailure.InvalidSubProtocolHeader),
        ["protocol over cap"] = (r => r with { SecWebSocketProtocol = new string('a', HandshakeValidator.MaxListHeaderLength + 1) }, HandshakeFailure.InvalidSubProtocolHeader),
        ["extensions unclosed quote"] = (r => r with { SecWebSocketExtensions = "permessage-deflate; x=\"15" }, HandshakeFailure.InvalidExtensionsHeader),
        ["extensions over cap"] = (r => r with { SecWebSocketExtensions = new string('a', HandshakeValidator.MaxListHeaderLength + 1) }, HandshakeFailure.InvalidExtensionsHeader),
    };

    public static TheoryData<string> FailureCases => new(s_failures.Keys);

    [Theory]
    [MemberData(nameof(FailureCases))]
    public void EachFailureIsReportedWithItsStatusCode(string name)
    {
        (Func<HandshakeRequest, HandshakeRequest> mutate, HandshakeFailure expected) = s_failures[name];

        HandshakeFailure actual = HandshakeValidator.Validate(mutate(Valid));

        Assert.Equal(expected, actual);
        Assert.Equal(ExpectedStatus(expected), actual.ToStatusCode());
    }

    private static int ExpectedStatus(HandshakeFailure failure) => failure switch
    {
        HandshakeFailure.NotWebSocketUpgrade or HandshakeFailure.HttpVersionNotSupported or HandshakeFailure.UnsupportedVersion => 426,
        HandshakeFailure.MethodNotAllowed => 405,
        HandshakeFailure.OriginNotAllowed => 403,
        HandshakeFailure.None => 101,
        _ => 400,
    };

    [Fact]
    public void EveryValidatorFailureExceptPolicyOnesHasACase()
    {
        // Origin, subprotocol and connection-count policies are decided by the hosting layer, and the HTTP/2 :protocol
        // check by ValidateExtendedConnect (tested below), not by Validate.
        var produced = s_failures.Values.Select(v => v.Expected).ToHashSet();
        var missing = Enum.GetValues<HandshakeFailure>()
            .Where(f => f is not (HandshakeFailure.None or HandshakeFailure.OriginNotAllowed or HandshakeFailure.SubProtocolRequired
                or HandshakeFailure.TooManyConnections or HandshakeFailure.ServerDraining or HandshakeFailure.UnsupportedConnectProtocol))
            .Where(f => !produced.Contains(f));
        Assert.Empty(missing);
    }

    [Theory]
    [InlineData("Upgrade", "WebSocket")]
    [InlineData("Upgrade", "WEBSOCKET")]
    [InlineData("Upgrade", "foo/2, websocket")]
    [InlineData("Upgrade", "h2c\nwebsocket")]
    [InlineData("Connection", "keep-alive, Upgrade")]
    [InlineData("Connection", "Upgrade, keep-alive")]
    [InlineData("Connection", "keep-alive\nUpgrade")]
    [InlineData("Connection", "\tupgrade ,close")]
    [InlineData("Connection", ",,upgrade,,")]
    [InlineData("Protocol", "HTTP/2")] // h2 Extended CONNECT is checked by the caller; the version itself is fine
    [InlineData("Protocol", "HTTP/2.0")]
    [InlineData("Protocol", "HTTP/3")]
    [InlineData("Protocol", "HTTP/1.2")]
    [InlineData("ContentLength", "0")]
    [InlineData("SecWebSocketVersion", " 13 ")]
    [InlineData("SecWebSocketProtocol", "chat, superchat")]
    [InlineData("SecWebSocketProtocol", "chat\nsuperchat")]
    [InlineData("SecWebSocketProtocol", "")]
    [InlineData("SecWebSocketExtensions", "permessage-deflate; client_max_window_bits")]
    [InlineData("SecWebSocketExtensions", "permessage-deflate; client_max_window_bits=\"15\", x-webkit-deflate-frame")]
    [InlineData("SecWebSocketExtensions", "constructor; __proto__=1")]
    public void AcceptedVariants(string field, string value)
    {
        HandshakeRequest request = field switch
        {
            "Upgrade" => Valid with { Upgrade = Lines(value) },
            "Connection" => Valid with { Connection = Lines(value) },
            "Protocol" => Valid with { Protocol = value },
            "ContentLength" => Valid with { ContentLength = long.Parse(value, System.Globalization.CultureInfo.InvariantCulture) },
            "SecWebSocketVersion" => Valid with { SecWebSocketVersion = Lines(value) },
            "SecWebSocketProtocol" => Valid with { SecWebSocketProtocol = Lines(value) },
            "SecWebSocketExtensions" => Valid with { SecWebSocketExtensions = Lines(value) },
            _ => throw new ArgumentOutOfRangeException(nameof(field)),
        };

        Assert.Equal(HandshakeFailure.None, HandshakeValidator.Validate(request));
    }

    public static TheoryData<string, string> KeyCases => new()
    {
        { Convert.ToBase64String(new byte[16]), "None" },
        { Convert.ToBase64String(Enumerable.Range(240, 16).Select(i => (byte)i).ToArray()), "None" }, // contains '+' and '/'
        { SampleKey, "None" },
        { " " + SampleKey + " ", "None" },   // RFC 6455 §4.2.2: leading/trailing whitespace is not part of the key
        { "\t" + SampleKey, "None" },
        { Convert.ToBase64String(new byte[15]), "InvalidKey" },
        { Convert.ToBase64String(new byte[17]), "InvalidKey" },
        { Convert.ToBase64String(new byte[18]), "InvalidKey" },
        { Convert.ToBase64String(new byte[32]), "InvalidKey" },
        { "not base64 at all!!!!!==", "InvalidKey" },
        { "dGhlIHNhbXBsZSBub25jZQ=", "InvalidKey" },    // 23 chars
        { "dGhlIHNhbXBsZSBub25jZQ", "InvalidKey" },     // padding stripped
        { "dGhl IHNhbXBsZSBub25jZQ==", "InvalidKey" },  // Convert would skip the inner space; we must not
        { "dGhlIHNhbXBsZSBub25jZ-_", "InvalidKey" },    // base64url alphabet
        { "dGhlIHNhbXBsZSBub25jZQ\u00e9=", "InvalidKey" },
        { "", "InvalidKey" },
        { "   ", "InvalidKey" },
        { SampleKey + ",", "InvalidKey" },
        { SampleKey + ", " + SampleKey, "DuplicateKey" },
        { SampleKey + "\n" + SampleKey, "DuplicateKey" }, // two header lines
        { SampleKey + "\n", "DuplicateKey" },              // a second, empty header line is still a second value
    };

    [Theory]
    [MemberData(nameof(KeyCases))]
    public void SecWebSocketKey(string key, string expected)
    {
        HandshakeFailure actual = HandshakeValidator.Validate(Valid with { SecWebSocketKey = Lines(key) });
        Assert.Equal(Enum.Parse<HandshakeFailure>(expected), actual);
        Assert.Equal(expected == "None" ? 101 : 400, actual.ToStatusCode());
    }

    [Theory]
    [InlineData("12")]
    [InlineData("14")]
    [InlineData("13, 14")]
    [InlineData("13\n13")]
    [InlineData("13\n14")]
    [InlineData("")]
    [InlineData("013")]
    [InlineData("13.0")]
    [InlineData("+13")]
    [InlineData(null)]
    public void UnsupportedVersionIs426(string? version)
    {
        HandshakeFailure actual = HandshakeValidator.Validate(Valid with { SecWebSocketVersion = Lines(version) });
        Assert.Equal(HandshakeFailure.UnsupportedVersion, actual);
        Assert.Equal(426, actual.ToStatusCode());
    }

    [Fact]
    public void AbsentHeadersFailWithoutThrowing()
    {
        // ADVISORIES #4: headers left unparsed must be a clean failure, never an exception.
        Assert.Equal(HandshakeFailure.NotWebSocketUpgrade, HandshakeValidator.Validate(default));
        var onlyUpgrade = new HandshakeRequest { Method = null!, Protocol = null!, Upgrade = "websocket" };
        Assert.Equal(HandshakeFailure.MethodNotAllowed, HandshakeValidator.Validate(onlyUpgrade));
        var noKey = Valid with { SecWebSocketKey = default, SecWebSocketVersion = default };
        Assert.Equal(HandshakeFailure.InvalidKey, HandshakeValidator.Validate(noKey));
        var nullEntries = Valid with
        {
            Host = new StringValues([null!]),
            Upgrade = new StringValues([null!, "websocket"]),
        };
        Assert.Equal(HandshakeFailure.MissingHost, HandshakeValidator.Validate(nullEntries));
    }

    [Fact]
    public void ThousandsOfConnectionValuesStillLinear()
    {
        // ADVISORIES #4 uses >2000 headers; Kestrel caps their count, but our scan must still cope.
        string[] lines = [.. Enumerable.Repeat("keep-alive", 2000), "Upgrade"];
        Assert.Equal(HandshakeFailure.None, HandshakeValidator.Validate(Valid with { Connection = lines }));
    }

    [Theory]
    [InlineData("HTTP/1.1", true)]
    [InlineData("HTTP/2", true)]
    [InlineData("HTTP/2.0", true)]
    [InlineData("HTTP/3", true)]
    [InlineData("HTTP/10.0", true)]
    [InlineData("HTTP/1.0", false)]
    [InlineData("HTTP/1", false)]
    [InlineData("HTTP/0.9", false)]
    [InlineData("HTTP/", false)]
    [InlineData("HTTP/1.", false)]
    [InlineData("HTTP/.1", false)]
    [InlineData("HTTP/-1.1", false)]
    [InlineData("HTTP/99999999999.0", false)]
    [InlineData("HTTPS/1.1", false)]
    [InlineData(" HTTP/1.1", false)]
    [InlineData(null, false)]
    public void HttpVersionParsing(string? protocol, bool expected) =>
        Assert.Equal(expected, HandshakeValidator.IsHttp11OrLater(protocol));

    [Theory]
    [InlineData("websocket", "13", "", "", "None")]
    [InlineData("WebSocket", "13", "chat.v1, chat.v2", "permessage-deflate; client_max_window_bits", "None")]
    [InlineData("not-websocket", "13", "", "", "UnsupportedConnectProtocol")]
    [InlineData(null, "13", "", "", "UnsupportedConnectProtocol")]
    [InlineData("websocket", "8", "", "", "UnsupportedVersion")]
    [InlineData("websocket", null, "", "", "UnsupportedVersion")]
    [InlineData("websocket", "13", "bad token", "", "InvalidSubProtocolHeader")]
    [InlineData("websocket", "13", "", "a; b=\"unclosed", "InvalidExtensionsHeader")]
    public void Http2_extended_connect_is_validated_per_rfc8441(string? protocol, string? version, string subProtocols, string extensions, string expected)
    {
        var request = new HandshakeRequest
        {
            Method = "CONNECT",
            Protocol = "HTTP/2",
            SecWebSocketVersion = version is null ? default : new Microsoft.Extensions.Primitives.StringValues(version),
            SecWebSocketProtocol = subProtocols,
            SecWebSocketExtensions = extensions,
        };

        Assert.Equal(Enum.Parse<HandshakeFailure>(expected), HandshakeValidator.ValidateExtendedConnect(protocol, request));
    }
}
