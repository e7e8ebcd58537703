using Microsoft.Extensions.Primitives;

namespace AspNetWebSockets.Handshake;

/// <summary>The header values the handshake validator needs, copied out of the HTTP request by the hosting layer.</summary>
/// <remarks>
/// A plain value type rather than an <c>HttpRequest</c> so validation stays sans-I/O: unit-testable, fuzzable and
/// shared with the test client. An absent header is <see cref="StringValues.Empty"/>; every member tolerates
/// <c>default</c>, because a request whose headers were never parsed must fail cleanly (ADVISORIES #4), not crash.
/// </remarks>
internal readonly struct HandshakeRequest
{
    /// <summary>The request method, e.g. <c>GET</c>.</summary>
    public required string Method { get; init; }

    /// <summary>The request protocol, e.g. <c>HTTP/1.1</c>, <c>HTTP/2</c>, <c>HTTP/1.0</c>.</summary>
    public required string Protocol { get; init; }

    /// <summary>The Host header.</summary>
    public StringValues Host { get; init; }

    /// <summary>The Upgrade header.</summary>
    public StringValues Upgrade { get; init; }

    /// <summary>The Connection header.</summary>
    public StringValues Connection { get; init; }

    /// <summary>The Sec-WebSocket-Key header.</summary>
    public StringValues SecWebSocketKey { get; init; }

    /// <summary>The Sec-WebSocket-Version header.</summary>
    public StringValues SecWebSocketVersion { get; init; }

    /// <summary>The Sec-WebSocket-Protocol header (client's subprotocol offers).</summary>
    public StringValues SecWebSocketProtocol { get; init; }

    /// <summary>The Sec-WebSocket-Extensions header (client's extension offers).</summary>
    public StringValues SecWebSocketExtensions { get; init; }

    /// <summary>The Content-Length header, or null when absent.</summary>
    public long? ContentLength { get; init; }

    /// <summary>The Transfer-Encoding header.</summary>
    public StringValues TransferEncoding { get; init; }
}
