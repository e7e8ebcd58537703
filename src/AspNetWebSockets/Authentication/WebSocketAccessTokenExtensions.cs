using AspNetWebSockets.Authentication;
using AspNetWebSockets.Handshake;
using AspNetWebSockets.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace AspNetWebSockets;

/// <summary>
/// Reads the bearer token a browser WebSocket client sent in the query string or a <c>Sec-WebSocket-Protocol</c> entry
/// (browsers cannot set <c>Authorization</c> on a WebSocket), for the application's own authentication scheme — e.g.
/// <c>JwtBearerEvents.OnMessageReceived = c => { c.Token ??= c.Request.GetWebSocketAccessToken(); return Task.CompletedTask; }</c>.
/// </summary>
public static class WebSocketAccessTokenExtensions
{
    /// <summary>
    /// The token of a WebSocket handshake to a <c>MapWebSocket</c> endpoint, or null: other requests never get a token from
    /// the query string or subprotocol list (a URL with a token in it must not authenticate a page or an API call).
    /// </summary>
    /// <param name="request">The request being authenticated (the endpoint must already be selected: authentication runs after routing).</param>
    /// <returns>The token, or null.</returns>
    public static string? GetWebSocketAccessToken(this HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        HttpContext context = request.HttpContext;
        if (context.GetEndpoint()?.Metadata.GetMetadata<WebSocketEndpointMarker>() is null || !IsHandshake(context))
        {
            return null;
        }

        if (context.Features.Get<WebSocketAccessTokenFeature>() is { } taken)
        {
            return taken.Token; // moved out of the query string before logging (AddWebSocketAccessTokens)
        }

        WebSocketAccessTokenOptions options = context.RequestServices.GetService<IOptions<WebSocketAccessTokenOptions>>()?.Value ?? Defaults;
        if (options.QueryParameter is { Length: > 0 } parameter && request.Query[parameter] is { Count: 1 } values && values[0] is { Length: > 0 } fromQuery && fromQuery != WebSocketAccessTokenRedactingServer.Redacted)
        {
            return fromQuery;
        }

        if (options.SubProtocolPrefix is { Length: > 0 } prefix && request.Headers.SecWebSocketProtocol.Count > 0)
        {
            var offered = new List<string>();
            HeaderTokens.TryParseTokenList(request.Headers.SecWebSocketProtocol, HandshakeValidator.MaxListHeaderLength, offered);
            foreach (string entry in offered)
            {
                if (entry.Length > prefix.Length && entry.StartsWith(prefix, StringComparison.Ordinal))
                {
                    return entry[prefix.Length..];
                }
            }
        }

        return null;
    }

    private static readonly WebSocketAccessTokenOptions Defaults = new();

    private static bool IsHandshake(HttpContext context) =>
        context.Features.Get<IHttpRequestFeature>() is { } request && WebSocketAccessTokenRedactingServer.IsHandshake(request, context.Features);
}
