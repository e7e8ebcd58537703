namespace AspNetWebSockets;

/// <summary>
/// Server-wide settings for <c>MapWebSocket</c> endpoints, configured with <c>AddWebSockets(o =&gt; ...)</c>. Named so
/// it does not clash with the framework's <c>Microsoft.AspNetCore.Builder.WebSocketOptions</c>. Every default is
/// chosen to be safe on the open internet; each can be overridden per endpoint where noted.
/// </summary>
public sealed class WebSocketServerOptions
{
    /// <summary>
    /// Largest message accepted, in bytes; a bigger one fails the connection with 1009 as soon as its declared
    /// length is seen. Default 1 MiB. Per endpoint: <c>.WithMaxMessageSize(n)</c>.
    /// </summary>
    public long MaxMessageSize { get; set; } = 1024 * 1024;

    /// <summary>Largest single frame accepted, in bytes (1009 above it). Default null: the same as <see cref="MaxMessageSize"/>.</summary>
    public long? MaxFrameSize { get; set; }

    /// <summary>
    /// Most fragments one message may arrive in, counting empty ones; more fails the connection with 1008
    /// (a flood of tiny fragments costs CPU without moving data). Default 4096.
    /// </summary>
    public int MaxFragmentsPerMessage { get; set; } = 4096;

    /// <summary>
    /// How long the peer may stay silent before the server pings it. Default 30 s; <see cref="Timeout.InfiniteTimeSpan"/>
    /// turns keep-alive off.
    /// </summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long after a ping the peer has to send anything (a pong or any data) before the connection is aborted and
    /// reported as 1006. Works whether or not the application has a receive pending. Default 30 s;
    /// <see cref="Timeout.InfiniteTimeSpan"/> pings without ever timing out.
    /// </summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long to wait for the peer's close frame after sending ours before aborting. Default 5 s.</summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a client may take to deliver its upgrade request, from the moment its TCP connection is accepted to the
    /// end of the request's headers; a client that connects and sends nothing, or drips the request a byte at a time
    /// (slowloris), is disconnected after it. Default 10 s (Python <c>websockets</c>' <c>open_timeout</c>).
    /// <see cref="Timeout.InfiniteTimeSpan"/> leaves Kestrel's own limits alone.
    /// </summary>
    /// <remarks>
    /// Before the headers are complete nobody can tell a WebSocket upgrade from any other request, so this is enforced
    /// by Kestrel for every request on the server: on Kestrel, <c>KestrelServerOptions.Limits.KeepAliveTimeout</c>
    /// (which bounds a new connection until its first byte, default 130 s, and idle HTTP keep-alive connections between
    /// requests) and <c>Limits.RequestHeadersTimeout</c> (from the first byte to the end of the headers, default 30 s)
    /// are each set to this value — only while they still hold Kestrel's defaults, so a different value the
    /// application set itself wins. Kestrel answers a request whose headers time out with 408 and closes the connection, and
    /// closes an idle connection without a response. After the upgrade no handshake timer runs: keep-alive
    /// (<see cref="KeepAliveInterval"/>, <see cref="KeepAliveTimeout"/>) bounds a silent peer.
    /// </remarks>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>On host shutdown, how long to wait for open connections to finish the 1001 close handshake. Default 5 s.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Browser origins allowed besides the request's own host, e.g. <c>https://example.com</c>; the entry <c>null</c>
    /// allows <c>Origin: null</c>. A browser request from any other origin gets 403 before the upgrade, which stops
    /// cross-site WebSocket hijacking. Requests without an <c>Origin</c> header (non-browser clients) always pass.
    /// </summary>
    public IList<string> AllowedOrigins { get; } = new List<string>();

    /// <summary>Turns the origin check off: every origin is accepted (the framework's built-in default). Default false.</summary>
    public bool AllowAnyOrigin { get; set; }

    /// <summary>
    /// Subprotocols the server speaks, most preferred first; the first one the client also offers is selected
    /// (RFC 6455 §4.2.2). Per endpoint: <c>.WithSubProtocols(...)</c>, which replaces this list.
    /// </summary>
    public IList<string> SubProtocols { get; } = new List<string>();

    /// <summary>
    /// When true, a handshake that matches none of <see cref="SubProtocols"/> is refused with 400 instead of
    /// completing without a subprotocol. Default false. Per endpoint: <c>.RequireSubProtocol()</c>.
    /// </summary>
    public bool RequireSubProtocol { get; set; }

    /// <summary>
    /// Most WebSocket connections the server holds at once; further upgrade requests get 503 before the upgrade.
    /// Default null: no limit beyond Kestrel's own <c>MaxConcurrentUpgradedConnections</c>.
    /// </summary>
    public int? MaxConnections { get; set; }

    /// <summary>
    /// Most bytes of messages a connection may have accepted but not yet handed to the transport (see
    /// <see cref="WebSocketConnection.BufferedAmount"/>) — what piles up when a peer does not read what it is sent.
    /// What happens above it is <see cref="SlowConsumerPolicy"/>. Default 16 MiB.
    /// </summary>
    public long MaxBufferedAmount { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// What a send does when it would take <see cref="WebSocketConnection.BufferedAmount"/> over <see cref="MaxBufferedAmount"/>:
    /// <see cref="WebSocketSlowConsumerPolicy.Backpressure"/> (default) lets the send wait its turn, so the sender slows
    /// to the peer's pace; <see cref="WebSocketSlowConsumerPolicy.Drop"/> fails the send and drops the connection
    /// (reported as 1008), so one slow peer cannot hold a broadcaster back or hold memory.
    /// </summary>
    public WebSocketSlowConsumerPolicy SlowConsumerPolicy { get; set; } = WebSocketSlowConsumerPolicy.Backpressure;

    /// <summary>The decoder's limits for an endpoint whose largest message is <paramref name="maxMessageSize"/>.</summary>
    internal Protocol.DecoderLimits DecoderLimitsFor(long maxMessageSize) =>
        new(maxMessageSize, Math.Min(MaxFrameSize ?? maxMessageSize, maxMessageSize), MaxFragmentsPerMessage);

    /// <summary>permessage-deflate (RFC 7692) settings; off by default (see <see cref="WebSocketCompressionOptions"/> for why).</summary>
    public WebSocketCompressionOptions Compression { get; } = new();

    /// <summary>
    /// On Kestrel over plain HTTP/1.1, read and write the connection's own pipes after the upgrade instead of the
    /// upgrade stream: no copy per read, no flush per write. Other servers, TLS and HTTP/2 always use the stream.
    /// Default true.
    /// </summary>
    public bool UseTransportPipes { get; set; } = true;

    /// <summary>
    /// Lean connections: Kestrel listens through a transport of our own (Linux epoll, one event loop per core), and once
    /// a plain-text HTTP/1.1 upgrade is done the socket is handed to the WebSocket and the HTTP request ends, so Kestrel
    /// frees its connection and request objects. An idle connection then holds no buffer, no pipe and no HTTP object.
    /// Applies on Linux (x64, ARM64) to IP end points; TLS, HTTP/2 and handlers that take <c>HttpContext</c>,
    /// <c>HttpRequest</c> or <c>HttpResponse</c> keep the classic path. Default true; false keeps Kestrel's own socket
    /// transport for every connection.
    /// </summary>
    public bool LeanConnections { get; set; } = true;

    /// <summary>Traces on the <c>AspNetWebSockets</c> activity source; per-message spans are off by default.</summary>
    public WebSocketTracingOptions Tracing { get; } = new();

    /// <summary>How a drain (on host shutdown, or <c>IWebSocketDrain.DrainAsync</c>) spreads its 1001 closes; see <see cref="WebSocketDrainOptions"/>.</summary>
    public WebSocketDrainOptions Drain { get; } = new();

    /// <summary>
    /// Longest a connection may stay open; it is then closed with <see cref="ConnectionLifetimeCloseCode"/>, so long-lived
    /// connections rebalance across nodes as clients reconnect (uWebSockets' <c>maxLifetime</c>). Default null: no limit.
    /// </summary>
    public TimeSpan? MaxConnectionLifetime { get; set; }

    /// <summary>
    /// How much earlier than <see cref="MaxConnectionLifetime"/> a connection may be closed: each connection gets its own
    /// random share of it, so connections opened together (after a deploy) do not all close together. Default zero.
    /// </summary>
    public TimeSpan ConnectionLifetimeJitter { get; set; }

    /// <summary>The close code sent when <see cref="MaxConnectionLifetime"/> is reached. Default 1001 (going away).</summary>
    public int ConnectionLifetimeCloseCode { get; set; } = WebSocketCloseCode.GoingAway;

    /// <summary>The event-loop execution mode, off by default; see <see cref="WebSocketEventLoopOptions"/>.</summary>
    public WebSocketEventLoopOptions EventLoop { get; } = new();

    /// <summary>Message rate limits per connection and per endpoint; off by default. Per endpoint: <c>.WithMessageRateLimit(...)</c>.</summary>
    public WebSocketMessageRateLimitOptions MessageRateLimit { get; } = new();
}
