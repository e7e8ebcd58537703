using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using AspNetWebSockets;
using AspNetWebSockets.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps WebSocket endpoints served by class-based handlers (<see cref="WebSocketHandler"/>).</summary>
public static class WebSocketHandlerEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps a WebSocket endpoint served by <typeparamref name="THandler"/>: one instance per connection, created from
    /// dependency injection, called on open, per message and on close. The handshake rules, outcomes and endpoint
    /// conventions are those of <c>MapWebSocket(pattern, delegate)</c>; attributes on the handler class
    /// (<c>[Authorize]</c>, <c>[EnableCors]</c>, …) become endpoint metadata.
    /// </summary>
    /// <typeparam name="THandler">The handler type.</typeparam>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="pattern">The route pattern, e.g. <c>/chat/{room}</c>; route values are on <see cref="WebSocketHandler.Context"/>.</param>
    /// <returns>A builder for endpoint conventions and this endpoint's WebSocket settings.</returns>
    public static WebSocketEndpointConventionBuilder MapWebSocket<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(
        this IEndpointRouteBuilder endpoints, [StringSyntax("Route")] string pattern)
        where THandler : WebSocketHandler
    {
        WebSocketEndpointConventionBuilder builder = endpoints.MapWebSocket(pattern, WebSocketHandlerRunner<THandler>.RunAsync);
        builder.Add(b =>
        {
            b.DisplayName = $"WebSocket {pattern} ({typeof(THandler).Name})";
            foreach (Attribute attribute in typeof(THandler).GetCustomAttributes(inherit: true))
            {
                b.Metadata.Add(attribute);
            }
        });
        return builder;
    }
}
