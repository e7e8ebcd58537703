using AspNetWebSockets.Compatibility;
using AspNetWebSockets.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>The drop-in path for apps written against <c>HttpContext.WebSockets.AcceptWebSocketAsync()</c>.</summary>
public static class WebSocketCompatibilityExtensions
{
    /// <summary>
    /// Serves <c>HttpContext.WebSockets.AcceptWebSocketAsync()</c> from AspNetWebSockets instead of the framework's
    /// <c>UseWebSockets()</c>: replace that one call (and <c>AddWebSockets</c> options) and the app runs on this stack,
    /// receiving a <see cref="System.Net.WebSockets.WebSocket"/> that behaves like the framework's. Server options
    /// (limits, keep-alive, origins — same-origin by default, unlike the framework's allow-all) come from
    /// <c>AddWebSockets(o =&gt; ...)</c>; <c>WebSocketAcceptContext</c> settings (subprotocol, keep-alive, compression)
    /// are honoured per request.
    /// </summary>
    /// <param name="app">The application builder.</param>
    /// <returns>The application builder, for chaining.</returns>
    public static IApplicationBuilder UseAspNetWebSockets(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.ApplicationServices.GetService<IServiceProviderIsService>()?.IsService(typeof(WebSocketServer)) != true)
        {
            throw new InvalidOperationException("Call builder.Services.AddWebSockets() before UseAspNetWebSockets().");
        }

        return app.UseMiddleware<WebSocketCompatibilityMiddleware>();
    }
}
