using AspNetWebSockets.Diagnostics;
using AspNetWebSockets.Extensions;

namespace AspNetWebSockets;

/// <summary>
/// What a connection knows at construction that differs from its endpoint's other connections: the handshake's outcome,
/// its id, and the per-connection halves of rate limiting and tracing. Passed once to the constructor, which keeps what it
/// needs in fields of its own (the extension session goes to the protocol object); the rest of a connection's settings is
/// shared (<see cref="WebSocketConnectionSettings"/>).
/// </summary>
internal readonly struct PerConnectionSettings
{
    /// <summary>The subprotocol the server selected, or null for none.</summary>
    public string? SubProtocol { get; init; }

    /// <summary>The negotiated extensions as sent in <c>Sec-WebSocket-Extensions</c>; null or empty for none.</summary>
    public string? Extensions { get; init; }

    /// <summary>The negotiated extension's session (permessage-deflate or another), owned by the connection; null for none.</summary>
    public IWebSocketExtensionSession? Extension { get; init; }

    /// <summary>The RSV bits <see cref="Extension"/>'s messages carry.</summary>
    public byte ExtensionBits { get; init; }

    /// <summary>An identifier for logs; null or empty for none.</summary>
    public string? ConnectionId { get; init; }

    /// <summary>Message rate limits, or null when none apply.</summary>
    public WebSocketConnectionRateLimit? RateLimit { get; init; }

    /// <summary>Per-message spans, or null when they are off or the connection's span is not recorded.</summary>
    public WebSocketMessageTracer? MessageTracer { get; init; }
}
