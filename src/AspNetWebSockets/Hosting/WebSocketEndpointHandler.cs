using System.Diagnostics;
using System.Net.WebSockets;
using AspNetWebSockets.Compression;
using AspNetWebSockets.Diagnostics;
using AspNetWebSockets.Extensions;
using AspNetWebSockets.Handshake;
using AspNetWebSockets.Protocol;
using AspNetWebSockets.Transport;
using AspNetWebSockets.Transport.Linux;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;

namespace AspNetWebSockets.Hosting;

/// <summary>
/// The request delegate behind a <c>MapWebSocket</c> endpoint: validates the handshake (nothing reaches the handler
/// before a valid upgrade), upgrades, picks the transport, runs the application's handler, and closes the
/// connection after it — 1000 when the handler returns, 1011 when it throws.
/// </summary>
internal sealed class WebSocketEndpointHandler
{
    private readonly RequestDelegate _handler;
    private readonly bool _canDetach;
    private WebSocketEndpointSettings? _settings;

    /// <param name="handler">The application's handler, bound to the request.</param>
    /// <param name="canDetach">
    /// Whether the handler may outlive the request (a lean connection): true when it binds nothing that reads the
    /// request after its start (see <see cref="CanOutliveRequest"/>).
    /// </param>
    public WebSocketEndpointHandler(RequestDelegate handler, bool canDetach)
    {
        _handler = handler;
        _canDetach = canDetach;
    }

    /// <summary>
    /// Whether a handler with these parameters can run after the request ended: its parameters are bound when it starts
    /// (route values, query, headers, services, the user, the connection), except <c>HttpContext</c>,
    /// <c>HttpRequest</c> and <c>HttpResponse</c>, which it would keep reading; Kestrel recycles them with the request.
    /// </summary>
    internal static bool CanOutliveRequest(System.Reflection.ParameterInfo[] parameters) =>
        !parameters.Any(static p => p.ParameterType == typeof(HttpContext) || p.ParameterType == typeof(HttpRequest) || p.ParameterType == typeof(HttpResponse));

    /// <remarks>
    /// Not async itself: the handshake checks run synchronously and only an accepted upgrade enters an async method, so a
    /// connection's lifetime holds one suspended state machine here rather than two.
    /// </remarks>
    public Task InvokeAsync(HttpContext context)
    {
        WebSocketServer server = context.RequestServices.GetRequiredService<WebSocketServer>();
        WebSocketEndpointSettings settings = _settings ??= server.SettingsFor(context.GetEndpoint());

        // HTTP/2 (RFC 8441) arrives as an extended CONNECT on the same route; HTTP/1.1 as an Upgrade.
        IHttpExtendedConnectFeature? connect = HttpHandshake.ExtendedConnect(context);

        HandshakeFailure failure = Negotiate(context, server, settings, connect, out string? subProtocol, out NegotiatedExtensions extensions);
        IHttpUpgradeFeature? upgrade = connect is null ? context.Features.Get<IHttpUpgradeFeature>() : null;
        if (failure == HandshakeFailure.None && connect is null && upgrade is not { IsUpgradableRequest: true })
        {
            // A valid-looking request on a connection that cannot be upgraded.
            failure = HandshakeFailure.HttpVersionNotSupported;
        }

        if (failure == HandshakeFailure.None && server.IsDraining)
        {
            failure = HandshakeFailure.ServerDraining; // draining: 503 + Retry-After
        }

        if (failure == HandshakeFailure.None && !server.TryReserveConnection())
        {
            failure = HandshakeFailure.TooManyConnections;
        }

        if (failure != HandshakeFailure.None)
        {
            Reject(context, failure, server);
            return Task.CompletedTask;
        }

        return AcceptAsync(context, server, settings, connect, upgrade, subProtocol, extensions, LeanHandOver(context, server, connect));
    }

    /// <summary>
    /// The lean transport's hand-over, where it applies: lean connections on, an HTTP/1.1 upgrade on a connection of
    /// the lean transport whose pipe nothing replaced (TLS and other connection middleware wrap it: those bytes are not
    /// the socket's), and a handler that can outlive the request.
    /// </summary>
    private IEpollHandOverFeature? LeanHandOver(HttpContext context, WebSocketServer server, IHttpExtendedConnectFeature? connect) =>
        _canDetach && connect is null && server.Options.LeanConnections
        && context.Features.Get<IEpollHandOverFeature>() is { } handOver
        && ReferenceEquals(context.Features.Get<IConnectionTransportFeature>()?.Transport, handOver)
            ? handOver
            : null;

    /// <summary>
    /// Upgrades, starts the handler, and runs the connection to its end; releases the reserved connection slot whatever
    /// happens. On a lean connection (<paramref name="handOver"/>) the socket leaves Kestrel, the handler gets services of
    /// the connection's own, and the request ends at the handler's first wait, so Kestrel frees its connection and
    /// request objects; the rest runs detached, counted by the server for shutdown.
    /// </summary>
    private async Task AcceptAsync(HttpContext context, WebSocketServer server, WebSocketEndpointSettings settings, IHttpExtendedConnectFeature? connect, IHttpUpgradeFeature? upgrade, string? subProtocol, NegotiatedExtensions extensions, IEpollHandOverFeature? handOver)
    {
        WebSocketConnectionServices? services = null;
        WebSocketConnection connection;
        Task handler;
        try
        {
            connection = await UpgradeAsync(
                context, server, settings.Limits, connect, upgrade, subProtocol, extensions, server.Options.KeepAliveInterval, server.Options.KeepAliveTimeout, settings.RateLimiter, handOver).ConfigureAwait(false);
            if (handOver is null)
            {
                context.RequestServices.GetRequiredService<WebSocketConnectionAccessor>().Connection = connection;
            }
            else
            {
                // The request's scope ends with the request; a lean connection's services must live as long as it does.
                context.RequestServices = services = new WebSocketConnectionServices(context.RequestServices, connection);
            }

            Log.ConnectionOpened(server.Logger, connection.ConnectionId, connection.Protocol, connection.Extensions);
            handler = StartHandler(connection, context);
        }
        catch
        {
            server.ReleaseConnection();
            throw;
        }

        if (handOver is null)
        {
            await RunAsync(server, connection, handler, services).ConfigureAwait(false);
        }
        else
        {
            server.DetachedStarted();
            RunDetached(server, handler, services!);
        }
    }

    /// <summary>
    /// A lean connection's <see cref="RunAsync"/>, started when its handler ends rather than awaiting it suspended: that
    /// state machine (176 B) would be most of what an idle lean connection holds besides its own objects, where a callback
    /// on the handler's task costs one delegate (64 B) to a method of the connection's services object, which holds what
    /// the run needs (a closure would cost 48 B more). It runs without the request's execution context, which ended at the
    /// handler's first wait.
    /// </summary>
    internal static void RunDetached(WebSocketServer server, Task handler, WebSocketConnectionServices services) =>
        services.RunWhenHandlerEnds(server, handler);

    /// <summary>
    /// The handler's opening run (up to its first wait) holds the I/O thread like any receive callback, and handles the
    /// messages that arrived before its first read: in the event-loop mode it is corked and timed too.
    /// </summary>
    private Task StartHandler(WebSocketConnection connection, HttpContext context)
    {
        try
        {
            return connection.StartHandler(_handler.Invoke, context);
        }
        catch (Exception e)
        {
            return Task.FromException(e);
        }
    }

    /// <summary>A connection's life after its handler started: the handler's run, the close, the slot and the scope.</summary>
    internal static async Task RunAsync(WebSocketServer server, WebSocketConnection connection, Task handler, WebSocketConnectionServices? services)
    {
        try
        {
            int closeCode = WebSocketCloseCode.NormalClosure;
            try
            {
                await handler.ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // No exception details on the wire: they may be security-sensitive.
                Log.HandlerFailed(server.Logger, connection.ConnectionId, e);
                closeCode = WebSocketCloseCode.InternalServerError;
            }
            finally
            {
                await EndAsync(server, connection, closeCode).ConfigureAwait(false);
            }
        }
        finally
        {
            server.ReleaseConnection();
            if (services is not null)
            {
                await services.DisposeAsync().ConfigureAwait(false);
                server.DetachedEnded();
            }
        }
    }

    /// <summary>
    /// After the application is done with a connection (MapWebSocket handler or drop-in request): closes it with
    /// <paramref name="closeCode"/> if still open, unregisters it, and waits for a failed connection's bounded linger
    /// before the request may end (ending it closes Kestrel's socket).
    /// </summary>
    internal static async Task EndAsync(WebSocketServer server, WebSocketConnection connection, int closeCode)
    {
        await CloseIfOpenAsync(connection, closeCode).ConfigureAwait(false);
        server.Unregister(connection);
        await connection.TransportCompleted.ConfigureAwait(false);
        connection.Abort(); // no-op after a completed close; otherwise releases the transport
    }

    /// <summary>Closes with <paramref name="closeCode"/> if the connection is still open; aborts it if the close cannot be sent.</summary>
    internal static async Task CloseIfOpenAsync(WebSocketConnection connection, int closeCode)
    {
        if (connection.ReadyState is WebSocketReadyState.Open or WebSocketReadyState.Closing)
        {
            try
            {
                await connection.CloseAsync(closeCode).ConfigureAwait(false);
            }
            catch (Exception e) when (e is WebSocketException or IOException or InvalidOperationException)
            {
                connection.Abort();
            }
        }
    }

    /// <summary>
    /// Completes an accepted handshake — response headers, 101 (HTTP/1.1) or 200 (HTTP/2), transport choice — and
    /// returns the open connection, registered with the server and bound to the request's lifetime. Shared by
    /// MapWebSocket endpoints and the drop-in <c>AcceptWebSocketAsync</c> path.
    /// </summary>
    internal static async Task<WebSocketConnection> UpgradeAsync(
        HttpContext context,
        WebSocketServer server,
        DecoderLimits limits,
        IHttpExtendedConnectFeature? connect,
        IHttpUpgradeFeature? upgrade,
        string? subProtocol,
        NegotiatedExtensions extensions,
        TimeSpan keepAliveInterval,
        TimeSpan keepAliveTimeout,
        WebSocketMessageRateLimiter? rateLimiter = null,
        IEpollHandOverFeature? handOver = null)
    {
        IHeaderDictionary headers = context.Response.Headers;
        if (connect is null)
        {
            headers.Connection = "Upgrade";
            headers.Upgrade = "websocket";
            headers.SecWebSocketAccept = WebSocketAccept.Compute(context.Request.Headers.SecWebSocketKey.ToString());
        }

        if (subProtocol is not null)
        {
            headers.SecWebSocketProtocol = subProtocol;
        }

        if (extensions.Header.Length > 0)
        {
            headers.SecWebSocketExtensions = extensions.Header;
        }

        IHttpRequestLifetimeFeature? lifetime = context.Features.Get<IHttpRequestLifetimeFeature>();
        Action abortConnection = lifetime is null ? static () => { } : lifetime.Abort;

        // HTTP/2 answers 200 and carries the frames on the stream; HTTP/1.1 answers 101 and hands over the connection.
        ActivityContext traceParent = WebSocketActivitySource.Source.HasListeners() ? WebSocketActivitySource.ParentOf(context) : default;
        Activity? upgradeSpan = WebSocketActivitySource.StartUpgrade(context, traceParent);
        Stream stream;
        try
        {
            stream = connect is not null
                ? await connect.AcceptAsync().ConfigureAwait(false)
                : await upgrade!.UpgradeAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            WebSocketActivitySource.StopUpgrade(upgradeSpan, e);
            throw;
        }

        WebSocketActivitySource.StopUpgrade(upgradeSpan, error: null);
        Activity? connectionSpan = WebSocketActivitySource.StartConnection(context, traceParent, subProtocol, extensions.Header);
        IWebSocketTransport transport = handOver is not null
            ? new LeanTransport(handOver.HandOver() ?? throw new IOException("The connection closed during the upgrade."))
            : SelectTransport(context, server.Options, stream, abortConnection);

        // A lean connection sends straight to the socket (no IOQueue coalesces its flushes): it corks in both modes.
        bool autoCork = server.Options.EventLoop.Enabled || handOver is not null;
        var connection = new WebSocketConnection(
            transport,
            server.ConnectionSettingsFor(limits, keepAliveInterval, keepAliveTimeout, autoCork),
            new PerConnectionSettings
            {
                SubProtocol = subProtocol,
                Extensions = extensions.Header,
                Extension = extensions.Session,
                ExtensionBits = extensions.ReservedBits,
                // Unique per node, so addressing by id works: HTTP/2 streams share their TCP connection's id, and TestServer has none.
                ConnectionId = connect is null && !string.IsNullOrEmpty(context.Connection.Id) ? context.Connection.Id : context.TraceIdentifier,
                MessageTracer = server.Options.Tracing.MessageSpans && connectionSpan is { IsAllDataRequested: true }
                    ? new WebSocketMessageTracer(connectionSpan, server.Options.Tracing.MessageSampleRatio)
                    : null,
                RateLimit = rateLimiter?.ForConnection(),
            });
        if (connectionSpan is not null)
        {
            WebSocketActivitySource.StopWhenClosed(connectionSpan, connection);
        }

        context.Features.Set<IHttpRequestLifetimeFeature>(new WebSocketRequestLifetimeFeature(connection));
        WebSocketConnectionListeners.NotifyConnected(context, connection, server.Logger);
        return connection;
    }

    private static HandshakeFailure Negotiate(HttpContext context, WebSocketServer server, WebSocketEndpointSettings settings, IHttpExtendedConnectFeature? connect, out string? subProtocol, out NegotiatedExtensions extensions)
    {
        subProtocol = null;
        extensions = NegotiatedExtensions.None;
        HandshakeFailure failure = HttpHandshake.Validate(context, connect);
        if (failure != HandshakeFailure.None)
        {
            return failure;
        }

        if (!HttpHandshake.IsOriginAllowed(context, server.Options))
        {
            return HandshakeFailure.OriginNotAllowed;
        }

        IHeaderDictionary headers = context.Request.Headers;

        if (settings.SubProtocols.Count > 0)
        {
            var offered = new List<string>();
            HeaderTokens.TryParseTokenList(headers.SecWebSocketProtocol, HandshakeValidator.MaxListHeaderLength, offered);
            subProtocol = SubProtocolSelector.Select(settings.SubProtocols, offered);
        }

        if (subProtocol is null && settings.RequireSubProtocol)
        {
            return HandshakeFailure.SubProtocolRequired;
        }

        extensions = HttpHandshake.NegotiateExtensions(context, settings.Compression ? server.ExtensionsWithCompression : server.Extensions);
        return HandshakeFailure.None;
    }

    /// <summary>Answers a refused handshake: the status for <paramref name="failure"/>, its headers, a log line and the metric.</summary>
    internal static void Reject(HttpContext context, HandshakeFailure failure, WebSocketServer server)
    {
        int status = failure.ToStatusCode();
        Log.HandshakeRejected(server.Logger, status, failure.Describe());
        server.Metrics.HandshakeFailed(failure.ToString());
        HttpResponse response = context.Response;
        response.StatusCode = status;
        switch (failure)
        {
            case HandshakeFailure.NotWebSocketUpgrade or HandshakeFailure.HttpVersionNotSupported
                when HttpProtocol.IsHttp11(context.Request.Protocol) || HttpProtocol.IsHttp10(context.Request.Protocol):
                // Connection-specific headers exist only in HTTP/1.x (RFC 9113 §8.2.2 forbids them in HTTP/2).
                response.Headers.Connection = "Upgrade";
                response.Headers.Upgrade = "websocket";
                break;
            case HandshakeFailure.UnsupportedVersion:
                response.Headers.SecWebSocketVersion = "13";
                break;
            case HandshakeFailure.MethodNotAllowed:
                response.Headers.Allow = "GET";
                break;
            case HandshakeFailure.ServerDraining:
                response.Headers.RetryAfter = WebSocketDrain.RetryAfterHeader(server.Options.Drain);
                break;
        }
    }

    private static IWebSocketTransport SelectTransport(HttpContext context, WebSocketServerOptions options, Stream stream, Action abortConnection)
    {
        // Kestrel's own pipes are used only where they were proven to carry the upgraded bytes: plain-text HTTP/1.1.
        // Under TLS the pipe reader does not read ahead on its own, which the keep-alive relies on.
        if (options.UseTransportPipes
            && !context.Request.IsHttps
            && HttpProtocol.IsHttp11(context.Request.Protocol)
            && context.Features.Get<IConnectionTransportFeature>() is { } transportFeature)
        {
            return new PipeTransport(transportFeature.Transport, abortConnection, completeOnClose: false);
        }

        return new StreamTransport(stream, abortConnection, inline: options.EventLoop.Enabled);
    }
}
