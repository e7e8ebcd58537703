namespace AspNetWebSockets.Handshake;

/// <summary>What went wrong with a WebSocket upgrade request; <see cref="None"/> means the request is valid.</summary>
/// <remarks>
/// One value per distinct HTTP answer and log message, so the hosting layer never has to guess a status code.
/// <see cref="HandshakeFailureExtensions.ToStatusCode"/> is the single mapping to HTTP status codes.
/// </remarks>
internal enum HandshakeFailure
{
    /// <summary>The request is a valid upgrade request.</summary>
    None,

    /// <summary>No <c>Upgrade: websocket</c> token: a plain HTTP request to a WebSocket route (426).</summary>
    NotWebSocketUpgrade,

    /// <summary>An upgrade attempt with a method other than GET (405).</summary>
    MethodNotAllowed,

    /// <summary>HTTP/1.0 or an unknown/lower protocol version; RFC 6455 requires HTTP/1.1 or later (426).</summary>
    HttpVersionNotSupported,

    /// <summary>No Host header, an empty one, or more than one (400).</summary>
    MissingHost,

    /// <summary>The Connection header lacks the <c>upgrade</c> token (400).</summary>
    MissingConnectionUpgrade,

    /// <summary>Sec-WebSocket-Key missing, not base64, or not decoding to exactly 16 bytes (400).</summary>
    InvalidKey,

    /// <summary>More than one Sec-WebSocket-Key value, on two header lines or as a comma list (400).</summary>
    DuplicateKey,

    /// <summary>Sec-WebSocket-Version missing or not exactly <c>13</c> (426, with <c>Sec-WebSocket-Version: 13</c>).</summary>
    UnsupportedVersion,

    /// <summary>Sec-WebSocket-Protocol is not a comma list of RFC 7230 tokens, or is over the length cap (400).</summary>
    InvalidSubProtocolHeader,

    /// <summary>Sec-WebSocket-Extensions is syntactically broken or over the length cap (400).</summary>
    InvalidExtensionsHeader,

    /// <summary>The upgrade request carries a body (Content-Length &gt; 0 or Transfer-Encoding) (400).</summary>
    RequestBodyNotAllowed,

    /// <summary>A browser origin that the origin policy refuses: cross-site WebSocket hijacking guard (403).</summary>
    OriginNotAllowed,

    /// <summary>The endpoint requires a subprotocol and none of the client's offers matched (400).</summary>
    SubProtocolRequired,

    /// <summary>An HTTP/2 extended CONNECT (RFC 8441) whose <c>:protocol</c> is not <c>websocket</c> → 400.</summary>
    UnsupportedConnectProtocol,

    /// <summary>The server already holds <c>MaxConnections</c> WebSocket connections → 503.</summary>
    TooManyConnections,

    /// <summary>The server is draining (shutdown or <c>IWebSocketDrain</c>) and takes no new connections → 503 with <c>Retry-After</c>.</summary>
    ServerDraining,
}
