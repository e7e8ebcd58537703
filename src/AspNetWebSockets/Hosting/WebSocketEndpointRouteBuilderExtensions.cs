using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using AspNetWebSockets.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps WebSocket endpoints with minimal-API-style handlers.</summary>
public static class WebSocketEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps a WebSocket endpoint. The handler runs after a valid upgrade and binds its parameters as minimal APIs do:
    /// <see cref="AspNetWebSockets.WebSocketConnection"/>, route values, DI services, <see cref="HttpContext"/>,
    /// <see cref="System.Security.Claims.ClaimsPrincipal"/>, and a <see cref="CancellationToken"/> that fires when the
    /// connection closes or the server stops. When it returns the connection is closed with 1000; when it throws, with 1011.
    /// A plain HTTP request gets 426, a malformed handshake 400, a wrong version 426 with <c>Sec-WebSocket-Version: 13</c>,
    /// a foreign browser origin 403. The endpoint accepts any method (the handshake rules decide), so HTTP/2's extended
    /// CONNECT can share it later. Use route constraints (<c>{id:int}</c>) for parameters that could fail to bind: binding
    /// happens after the upgrade, where a 400 is no longer possible.
    /// </summary>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="pattern">The route pattern, e.g. <c>/chat/{room}</c>.</param>
    /// <param name="handler">A delegate returning <see cref="Task"/>, <see cref="ValueTask"/> or void.</param>
    /// <returns>A builder for endpoint conventions (<c>RequireAuthorization</c>, <c>RequireCors</c>, …) and this endpoint's WebSocket settings (<c>WithSubProtocols</c>, …).</returns>
    public static WebSocketEndpointConventionBuilder MapWebSocket(this IEndpointRouteBuilder endpoints, [StringSyntax("Route")] string pattern, Delegate handler)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(handler);

        Type returnType = handler.Method.ReturnType;
        if (returnType != typeof(void) && returnType != typeof(Task) && returnType != typeof(ValueTask))
        {
            throw new ArgumentException($"A WebSocket handler must return Task, ValueTask or void, not {returnType.Name}: nothing can be written to the response after the upgrade.", nameof(handler));
        }

        // Ask whether the server is registered without resolving it: resolving reads (and validates) the options,
        // which would throw here, at mapping time, instead of from StartAsync as ValidateOnStart promises.
        bool registered = endpoints.ServiceProvider.GetService<IServiceProviderIsService>() is { } isService
            ? isService.IsService(typeof(WebSocketServer))
            : endpoints.ServiceProvider.GetService<WebSocketServer>() is not null;
        if (!registered)
        {
            throw new InvalidOperationException("Call builder.Services.AddWebSockets() before MapWebSocket.");
        }

        RoutePattern routePattern = RoutePatternFactory.Parse(pattern);
        var routeParameterNames = new List<string>(routePattern.Parameters.Count);
        foreach (RoutePatternParameterPart parameter in routePattern.Parameters)
        {
            routeParameterNames.Add(parameter.Name);
        }

        RequestDelegateResult bound = RequestDelegateFactory.Create(handler, new RequestDelegateFactoryOptions
        {
            ServiceProvider = endpoints.ServiceProvider,
            RouteParameterNames = routeParameterNames,
            // The endpoint is not GET-only, so nothing may be inferred to come from a request body.
            DisableInferBodyFromParameters = true,
            // Binding runs after the upgrade, where a 400 can no longer be sent: by default the factory would set the
            // status anyway, which throws on Kestrel (1011) but silently "succeeds" elsewhere (1000). Throwing makes a
            // binding failure a handler failure (1011) on every server.
            ThrowOnBadRequest = true,
        });

        var endpointHandler = new WebSocketEndpointHandler(bound.RequestDelegate, WebSocketEndpointHandler.CanOutliveRequest(handler.Method.GetParameters()));
        IEndpointConventionBuilder builder = endpoints.Map(routePattern, endpointHandler.InvokeAsync);
        builder.Add(b =>
        {
            b.DisplayName = $"WebSocket {pattern}";
            b.Metadata.Add(WebSocketEndpointMarker.Instance);

            // Attributes on the handler ([Authorize], [EnableCors], …) become endpoint metadata, as for minimal APIs.
            foreach (Attribute attribute in handler.Method.GetCustomAttributes())
            {
                b.Metadata.Add(attribute);
            }
        });
        return new WebSocketEndpointConventionBuilder(builder);
    }
}
