using System.Net.WebSockets;
using AspNetWebSockets.Compression;
using AspNetWebSockets.Extensions;
using AspNetWebSockets.Handshake;
using AspNetWebSockets.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace AspNetWebSockets.Compatibility;

/// <summary>
/// Our <see cref="IHttpWebSocketFeature"/>: <c>HttpContext.WebSockets.IsWebSocketRequest</c> and <c>AcceptWebSocketAsync()</c>
/// run the handshake through this library and hand back a <see cref="WebSocket"/> over a <see cref="WebSocketConnection"/>.
/// </summary>
internal sealed class AcceptWebSocketFeature : IHttpWebSocketFeature
{
    private readonly HttpContext _context;
    private readonly WebSocketServer _server;
    private readonly IHttpExtendedConnectFeature? _connect;
    private readonly HandshakeFailure _validation;
    private bool _reserved;

    public AcceptWebSocketFeature(HttpContext context, WebSocketServer server, IHttpExtendedConnectFeature? connect, HandshakeFailure validation)
    {
        _context = context;
        _server = server;
        _connect = connect;
        _validation = validation;
    }

    public bool IsWebSocketRequest => _validation == HandshakeFailure.None;

    /// <summary>The accepted connection, once <see cref="AcceptAsync"/> has run.</summary>
    public WebSocketConnection? Connection { get; private set; }

    public async Task<WebSocket> AcceptAsync(WebSocketAcceptContext acceptContext)
    {
        if (!IsWebSocketRequest)
        {
            throw new InvalidOperationException($"Not a WebSocket request: {_validation.Describe()}.");
        }

        if (Connection is not null)
        {
            throw new InvalidOperationException("The WebSocket request was already accepted.");
        }

        if (!_server.TryReserveConnection())
        {
            throw new InvalidOperationException("The server is at its MaxConnections limit or draining.");
        }

        _reserved = true;

        // The same settings and negotiation as MapWebSocket endpoints: whatever endpoint the request reached, its
        // metadata (message size, rate limits, ...) applies. As with the framework, permessage-deflate is negotiated only
        // when the application asks for it, with the built-in's settings mapped onto ours; registered extensions always.
        WebSocketEndpointSettings settings = _server.SettingsFor(_context.GetEndpoint());
        IReadOnlyList<IWebSocketExtension> offerable = acceptContext.DangerousEnableCompression
            ? [new PerMessageDeflateNegotiation(MapCompression(acceptContext, _server.Options.Compression)), .. _server.Extensions]
            : _server.Extensions;
        WebSocketServerOptions serverOptions = _server.Options;
        Connection = await WebSocketEndpointHandler.UpgradeAsync(
            _context,
            _server,
            settings.Limits,
            _connect,
            _connect is null ? _context.Features.Get<IHttpUpgradeFeature>() : null,
            string.IsNullOrEmpty(acceptContext.SubProtocol) ? null : acceptContext.SubProtocol,
            HttpHandshake.NegotiateExtensions(_context, offerable),
            acceptContext.KeepAliveInterval ?? serverOptions.KeepAliveInterval,
            acceptContext.KeepAliveTimeout ?? serverOptions.KeepAliveTimeout,
            settings.RateLimiter).ConfigureAwait(false);
        Log.ConnectionOpened(_server.Logger, Connection.ConnectionId, Connection.Protocol, Connection.Extensions);
        return Connection.AsWebSocket();
    }

    /// <summary>The built-in's compression settings (<see cref="WebSocketAcceptContext"/>), mapped onto ours.</summary>
    private static WebSocketCompressionOptions MapCompression(WebSocketAcceptContext acceptContext, WebSocketCompressionOptions server) => new()
    {
        Enabled = true,
        Level = server.Level,
        MemoryLevel = server.MemoryLevel,
        ServerMaxWindowBits = Math.Clamp(acceptContext.ServerMaxWindowBits, 9, 15),
        ServerContextTakeover = !acceptContext.DisableServerContextTakeover,
        MinMessageSize = server.MinMessageSize,
    };

    /// <summary>After the application's pipeline: closes what it left open and releases the connection slot.</summary>
    public async Task CompleteAsync()
    {
        if (Connection is { } connection)
        {
            await WebSocketEndpointHandler.EndAsync(_server, connection, WebSocketCloseCode.NormalClosure).ConfigureAwait(false);
        }

        if (_reserved)
        {
            _server.ReleaseConnection();
        }
    }
}
