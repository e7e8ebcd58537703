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
        IHttpExtendedConnectFeature? connect = HttpHandshake.ExtendedConnect(context);
        if (connect is null && !HeaderTokens.Contains(context.Request.Headers.Upgrade, "websocket"))
        {
            await _next(context).ConfigureAwait(false);
            return;
        }

        WebSocketServer server = context.RequestServices.GetRequiredService<WebSocketServer>();
        HandshakeFailure validation = HttpHandshake.Validate(context, connect);
        if (validation == HandshakeFailure.None && !HttpHandshake.IsOriginAllowed(context, server.Options))
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
