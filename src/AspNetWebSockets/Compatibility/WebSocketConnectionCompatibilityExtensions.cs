using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using AspNetWebSockets.Compatibility;

namespace AspNetWebSockets;

/// <summary>A <see cref="WebSocket"/> over a <see cref="WebSocketConnection"/>, for libraries written against <c>System.Net.WebSockets</c>.</summary>
public static class WebSocketConnectionCompatibilityExtensions
{
    // One view per connection, kept beside it rather than in a field of every connection (8 bytes per idle connection,
    // for a view few applications ask for). The table lets a view go with its connection, and makes it once even when
    // two threads ask at the same time.
    private static readonly ConditionalWeakTable<WebSocketConnection, WebSocket> Views = new();

    /// <summary>
    /// This connection as a <see cref="WebSocket"/>. It behaves like the framework's own WebSocket where applications can
    /// observe it. Use either it or the connection's own receive methods, not both. The same instance is returned each time.
    /// </summary>
    /// <param name="connection">The connection.</param>
    /// <returns>A <see cref="WebSocket"/> over <paramref name="connection"/>.</returns>
    public static WebSocket AsWebSocket(this WebSocketConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return Views.GetValue(connection, static c => new ConnectionWebSocket(c));
    }
}
