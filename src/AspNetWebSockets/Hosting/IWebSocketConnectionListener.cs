using Microsoft.AspNetCore.Http;

namespace AspNetWebSockets;

/// <summary>
/// Told about every WebSocket connection the moment it is open, with the request that upgraded it (its user, endpoint and
/// authentication result). Register implementations as singletons (<c>services.TryAddEnumerable(...)</c>); the addressing
/// registry and the authentication-expiry watch are two.
/// </summary>
/// <remarks>
/// Called on the upgrade path, once per connection, before the handler runs: keep it short and non-blocking. To learn when
/// the connection ends, register on <see cref="WebSocketConnection.ConnectionClosed"/>. An exception is logged and the
/// connection is aborted (1006), since a listener that failed may have left it half-registered.
/// </remarks>
public interface IWebSocketConnectionListener
{
    /// <summary>The connection is open (101 or 200 sent); the handler has not run yet.</summary>
    /// <param name="connection">The new connection.</param>
    /// <param name="context">The request that upgraded it.</param>
    void OnConnected(WebSocketConnection connection, HttpContext context);
}
