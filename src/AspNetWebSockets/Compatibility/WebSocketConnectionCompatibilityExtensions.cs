using System.Net.WebSockets;
using AspNetWebSockets.Compatibility;

namespace AspNetWebSockets;

/// <summary>A <see cref="WebSocket"/> over a <see cref="WebSocketConnection"/>, for libraries written against <c>System.Net.WebSockets</c>.</summary>
public static class WebSocketConnectionCompatibilityExtensions
{
    /// <summary>
    /// This connection as a <see cref="WebSocket"/>. It behaves like the framework's own WebSocket where applications can
    /// observe it. Use either it or the connection's own receive methods, not both. The same instance is returned each time.
    /// </summary>
    /// <param name="connection">The connection.</param>
    /// <returns>A <see cref="WebSocket"/> over <paramref name="connection"/>.</returns>
    public static WebSocket AsWebSocket(this WebSocketConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return connection.WebSocketView ??= new ConnectionWebSocket(connection);
    }
}
