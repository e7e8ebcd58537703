using AspNetWebSockets.Handshake;
using AspNetWebSockets.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace AspNetWebSockets.Compatibility;

/// <summary>
/// The drop-in path: installs our <see cref="IHttpWebSocketFeature"/> on WebSocket upgrade requests so apps written
/// against <c>HttpContext.WebSockets.AcceptWebSocketAsync()</c> run on this stack unchanged. Browser origins are
/// checked first (403), as with MapWebSocket.
/// </summary>
internal sealed class WebSocketCompatibilityMiddleware
{
    private readonly RequestDelegate _next;

    public WebSocketCompatibilityMiddleware(RequestDelegate next) => _next = next;

    public async Task InvokeAsync(HttpContext context)
    {
        IHttpExtendedConnectFeature? connect = context.Features.Get<IHttpExtendedConnectFeature>();
        if (connect is not { IsExtendedConnect: true })
        {
            connect = null;
        }

        IHeaderDictionary headers = context.Request.Headers;
        if (connect is null && !HeaderTokens.Contains(headers.Upgrade, "websocket"))
        {
            await _next(context).ConfigureAwait(false);
            return;
        }

        WebSocketServer server = context.RequestServices.GetRequiredService<WebSocketServer>();
        var request = new HandshakeRequest
        {
            Method = context.Request.Method,
            Protocol = context.Request.Protocol,
            Host = headers.Host,
            Upgrade = headers.Upgrade,
            Connection = headers.Connection,
            SecWebSocketKey = headers.SecWebSocketKey,
            SecWebSocketVersion = headers.SecWebSocketVersion,
            SecWebSocketProtocol = headers.SecWebSocketProtocol,
            SecWebSocketExtensions = headers.SecWebSocketExtensions,
            ContentLength = context.Request.ContentLength,
            TransferEncoding = headers.TransferEncoding,
        };
        HandshakeFailure validation = connect is null
            ? HandshakeValidator.Validate(request)
            : HandshakeValidator.ValidateExtendedConnect(connect.Protocol, request);

        WebSocketServerOptions options = server.Options;
        if (validation == HandshakeFailure.None
            && !OriginPolicy.IsAllowed(headers.Origin.ToString(), headers.Host.ToString(), context.Request.Scheme, (IReadOnlyCollection<string>)options.AllowedOrigins, options.AllowAnyOrigin))
        {
            Log.HandshakeRejected(server.Logger, StatusCodes.Status403Forbidden, HandshakeFailure.OriginNotAllowed.Describe());
            server.Metrics.HandshakeFailed(nameof(HandshakeFailure.OriginNotAllowed));
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        var feature = new AcceptWebSocketFeature(context, server, connect, validation);
        context.Features.Set<IHttpWebSocketFeature>(feature);
        try
        {
            await _next(context).ConfigureAwait(false);
        }
        finally
        {
            await feature.CompleteAsync().ConfigureAwait(false);
        }
    }
}
