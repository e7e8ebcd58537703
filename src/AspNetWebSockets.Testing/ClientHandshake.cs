using AspNetWebSockets.Handshake;
using AspNetWebSockets.Protocol;
using AspNetWebSockets.Transport;
using Microsoft.AspNetCore.Http;

namespace AspNetWebSockets.Testing;

/// <summary>The client side of RFC 6455 §4.1, shared by the in-memory and TCP clients.</summary>
internal static class ClientHandshake
{
    /// <summary>Sets the upgrade request headers a conforming client sends.</summary>
    public static void AddRequestHeaders(IHeaderDictionary headers, string key, WebSocketClientOptions options)
    {
        headers.Connection = "Upgrade";
        headers.Upgrade = "websocket";
        headers.SecWebSocketKey = key;
        headers.SecWebSocketVersion = options.Version;
        if (options.SubProtocols.Count > 0)
        {
            headers.SecWebSocketProtocol = string.Join(", ", options.SubProtocols);
        }

        if (options.Origin is not null)
        {
            headers.Origin = options.Origin;
        }

        foreach (KeyValuePair<string, string> header in options.Headers)
        {
            headers[header.Key] = header.Value;
        }
    }

    /// <summary>Throws <see cref="WebSocketHandshakeException"/> unless the response accepts the upgrade as §4.1 requires.</summary>
    /// <returns>The selected subprotocol, or null.</returns>
    public static string? ValidateResponse(int statusCode, IHeaderDictionary headers, string key, WebSocketClientOptions options)
    {
        if (statusCode != StatusCodes.Status101SwitchingProtocols)
        {
            throw new WebSocketHandshakeException(statusCode, headers, $"The server refused the WebSocket upgrade with status {statusCode}.");
        }

        if (!HeaderTokens.Contains(headers.Upgrade, "websocket") || !HeaderTokens.Contains(headers.Connection, "upgrade"))
        {
            throw new WebSocketHandshakeException(statusCode, headers, "The 101 response lacks 'Upgrade: websocket' or 'Connection: Upgrade'.");
        }

        if (headers.SecWebSocketAccept.ToString() != WebSocketAccept.Compute(key))
        {
            throw new WebSocketHandshakeException(statusCode, headers, "Sec-WebSocket-Accept does not match the key.");
        }

        string? protocol = headers.SecWebSocketProtocol.Count == 0 ? null : headers.SecWebSocketProtocol.ToString();
        if (protocol is not null && !options.SubProtocols.Contains(protocol))
        {
            throw new WebSocketHandshakeException(statusCode, headers, $"The server selected subprotocol '{protocol}', which was not offered.");
        }

        if (headers.SecWebSocketExtensions.Count > 0)
        {
            throw new WebSocketHandshakeException(statusCode, headers, "The server accepted an extension that was not offered.");
        }

        return protocol;
    }

    public static WebSocketConnection CreateConnection(WebSocketTransport transport, string? subProtocol, WebSocketClientOptions options) =>
        new(transport, new WebSocketConnectionSettings
        {
            Role = WebSocketRole.Client,
            Limits = new DecoderLimits(options.MaxMessageSize, options.MaxMessageSize, int.MaxValue),
            CloseTimeout = options.CloseTimeout,
            SubProtocol = subProtocol,
            ConnectionId = "client",
        });
}
