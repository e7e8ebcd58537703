using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace AspNetWebSockets.Testing;

/// <summary>The client side of RFC 6455 §4.1, shared by the in-memory and TCP clients.</summary>
/// <remarks>
/// This package uses only the public API of <c>AspNetWebSockets</c>, so the few lines of the handshake it needs (a
/// random key, the expected accept value, a comma-list lookup) are its own rather than the server's internal helpers.
/// </remarks>
internal static class ClientHandshake
{
    // RFC 6455 §1.3: appended to the key before hashing.
    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    /// <summary>A fresh random 16-byte key, base64-encoded (24 characters), as RFC 6455 §4.1 requires.</summary>
    public static string CreateKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));

    /// <summary>The <c>Sec-WebSocket-Accept</c> value a server must answer <paramref name="key"/> with: base64(SHA-1(key + GUID)).</summary>
    public static string ComputeAccept(string key)
    {
        // SHA-1 is fixed by RFC 6455; the accept value proves the server understood the handshake, it is not a
        // security boundary, so the weak-algorithm warning does not apply.
#pragma warning disable CA5350
        return Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + AcceptGuid)));
#pragma warning restore CA5350
    }

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

        if (!ContainsToken(headers.Upgrade, "websocket") || !ContainsToken(headers.Connection, "upgrade"))
        {
            throw new WebSocketHandshakeException(statusCode, headers, "The 101 response lacks 'Upgrade: websocket' or 'Connection: Upgrade'.");
        }

        if (headers.SecWebSocketAccept.ToString() != ComputeAccept(key))
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

    /// <summary>Creates the client connection over the upgraded stream.</summary>
    public static WebSocketConnection CreateConnection(Stream stream, string? subProtocol, WebSocketClientOptions options) =>
        WebSocketConnection.CreateClient(stream, subProtocol, options.MaxMessageSize, options.CloseTimeout);

    /// <summary>True if any element of the comma lists in <paramref name="values"/> is <paramref name="token"/> (case-insensitive, whitespace trimmed).</summary>
    private static bool ContainsToken(StringValues values, string token)
    {
        foreach (string? value in values)
        {
            foreach (string element in (value ?? string.Empty).Split(','))
            {
                if (element.Trim(' ', '\t').Equals(token, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
