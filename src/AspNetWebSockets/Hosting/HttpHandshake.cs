using AspNetWebSockets.Extensions;
using AspNetWebSockets.Handshake;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace AspNetWebSockets.Hosting;

/// <summary>The bridge from an ASP.NET Core request to the pure handshake rules, shared by MapWebSocket and the drop-in path.</summary>
internal static class HttpHandshake
{
    /// <summary>The request's HTTP/2 extended CONNECT feature when this is one (RFC 8441), else null.</summary>
    public static IHttpExtendedConnectFeature? ExtendedConnect(HttpContext context) =>
        context.Features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true } connect ? connect : null;

    /// <summary>Validates the request as an HTTP/1.1 upgrade, or as an extended CONNECT when <paramref name="connect"/> is set.</summary>
    public static HandshakeFailure Validate(HttpContext context, IHttpExtendedConnectFeature? connect)
    {
        HttpRequest request = context.Request;
        IHeaderDictionary headers = request.Headers;
        var handshake = new HandshakeRequest
        {
            Method = request.Method,
            Protocol = request.Protocol,
            Host = headers.Host,
            Upgrade = headers.Upgrade,
            Connection = headers.Connection,
            SecWebSocketKey = headers.SecWebSocketKey,
            SecWebSocketVersion = headers.SecWebSocketVersion,
            SecWebSocketProtocol = headers.SecWebSocketProtocol,
            SecWebSocketExtensions = headers.SecWebSocketExtensions,
            ContentLength = request.ContentLength,
            TransferEncoding = headers.TransferEncoding,
        };

        return connect is null
            ? HandshakeValidator.Validate(handshake)
            : HandshakeValidator.ValidateExtendedConnect(connect.Protocol, handshake);
    }

    /// <summary>The cross-site WebSocket hijacking guard with the server's origin settings.</summary>
    public static bool IsOriginAllowed(HttpContext context, WebSocketServerOptions options)
    {
        IHeaderDictionary headers = context.Request.Headers;
        return OriginPolicy.IsAllowed(headers.Origin.ToString(), headers.Host.ToString(), context.Request.Scheme, (IReadOnlyCollection<string>)options.AllowedOrigins, options.AllowAnyOrigin);
    }

    /// <summary>
    /// Negotiates the request's <c>Sec-WebSocket-Extensions</c> offers with <paramref name="extensions"/> (the one
    /// negotiation both upgrade paths use); <see cref="NegotiatedExtensions.None"/> when nothing was offered or accepted.
    /// </summary>
    public static NegotiatedExtensions NegotiateExtensions(HttpContext context, IReadOnlyList<IWebSocketExtension> extensions)
    {
        Microsoft.Extensions.Primitives.StringValues header = context.Request.Headers.SecWebSocketExtensions;
        if (extensions.Count == 0 || header.Count == 0)
        {
            return NegotiatedExtensions.None;
        }

        var offers = new List<ExtensionOffer>();
        ExtensionHeaderParser.TryParse(header, HandshakeValidator.MaxListHeaderLength, offers);
        return ExtensionNegotiation.Negotiate(offers, extensions);
    }
}
