using AspNetWebSockets.Handshake;
using AspNetWebSockets.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace AspNetWebSockets.Compatibility;

/// <summary>
/// The drop-in path: installs our <see cref="IHttpWebSocketFeature"/> on WebSocket upgrade requests so apps written
/// against <c>HttpContext.WebSockets.AcceptWebSocketAsync()</c> run on this stack unchanged. Browser origins are
/// checked first (403), and a draining server refuses upgrades (503 with Retry-After), as with MapWebSocket.
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

        // Refused before the application runs, as MapWebSocket refuses them: a foreign origin (403), and any upgrade while
        // the server drains (503 with Retry-After, so the client retries another node).
        HandshakeFailure refusal = validation != HandshakeFailure.None ? HandshakeFailure.None
            : !HttpHandshake.IsOriginAllowed(context, server.Options) ? HandshakeFailure.OriginNotAllowed
            : server.IsDraining ? HandshakeFailure.ServerDraining
            : HandshakeFailure.None;
        if (refusal != HandshakeFailure.None)
        {
            WebSocketEndpointHandler.Reject(context, refusal, server);
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
