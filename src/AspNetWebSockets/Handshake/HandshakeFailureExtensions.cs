namespace AspNetWebSockets.Handshake;

/// <summary>Maps a <see cref="HandshakeFailure"/> to its HTTP status code and a short log text.</summary>
internal static class HandshakeFailureExtensions
{
    /// <summary>
    /// The HTTP status code to answer with: 101 for <see cref="HandshakeFailure.None"/>, otherwise 400, 403, 405, 426 or 503.
    /// </summary>
    /// <remarks>
    /// 426 is used where the client can fix things by speaking a different protocol (RFC 7231 §6.5.15): a plain
    /// HTTP request to a WebSocket route, HTTP/1.0, or a WebSocket version other than 13 (RFC 6455 §4.4 — the caller
    /// adds <c>Sec-WebSocket-Version: 13</c>). Unknown values map to 400 rather than throwing, so a failure path can
    /// never turn into a 500.
    /// </remarks>
    public static int ToStatusCode(this HandshakeFailure failure) => failure switch
    {
        HandshakeFailure.None => 101,
        HandshakeFailure.NotWebSocketUpgrade => 426,
        HandshakeFailure.MethodNotAllowed => 405,
        HandshakeFailure.HttpVersionNotSupported => 426,
        HandshakeFailure.UnsupportedVersion => 426,
        HandshakeFailure.OriginNotAllowed => 403,
        HandshakeFailure.TooManyConnections => 503,
        HandshakeFailure.ServerDraining => 503,
        _ => 400,
    };

    /// <summary>A short human-readable description for logs. Contains no request data, so it is safe to log as is.</summary>
    public static string Describe(this HandshakeFailure failure) => failure switch
    {
        HandshakeFailure.None => "Valid WebSocket upgrade request",
        HandshakeFailure.NotWebSocketUpgrade => "Request is not a WebSocket upgrade (no 'Upgrade: websocket')",
        HandshakeFailure.MethodNotAllowed => "WebSocket upgrade requires the GET method",
        HandshakeFailure.HttpVersionNotSupported => "WebSocket upgrade requires HTTP/1.1 or later",
        HandshakeFailure.MissingHost => "Host header is missing, empty or repeated",
        HandshakeFailure.MissingConnectionUpgrade => "Connection header lacks the 'upgrade' token",
        HandshakeFailure.InvalidKey => "Sec-WebSocket-Key is not 16 bytes of base64",
        HandshakeFailure.DuplicateKey => "Sec-WebSocket-Key has more than one value",
        HandshakeFailure.UnsupportedVersion => "Sec-WebSocket-Version is missing or not 13",
        HandshakeFailure.InvalidSubProtocolHeader => "Sec-WebSocket-Protocol is not a list of tokens or is too long",
        HandshakeFailure.InvalidExtensionsHeader => "Sec-WebSocket-Extensions is malformed or too long",
        HandshakeFailure.RequestBodyNotAllowed => "WebSocket upgrade request must not have a body",
        HandshakeFailure.OriginNotAllowed => "Origin is not allowed for this WebSocket endpoint",
        HandshakeFailure.SubProtocolRequired => "No offered subprotocol is supported by this endpoint",
        HandshakeFailure.TooManyConnections => "The server is at its MaxConnections limit",
        HandshakeFailure.ServerDraining => "The server is draining and takes no new WebSocket connections",
        HandshakeFailure.UnsupportedConnectProtocol => "HTTP/2 extended CONNECT with a :protocol other than websocket",
        _ => "Unknown handshake failure",
    };
}
