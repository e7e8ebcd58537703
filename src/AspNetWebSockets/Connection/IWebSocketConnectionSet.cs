namespace AspNetWebSockets;

/// <summary>
/// This node's open connections. The hosting layer's server implements it; layers below it (groups broadcasting to
/// "all") use it without depending on the host.
/// </summary>
internal interface IWebSocketConnectionSet
{
    /// <summary>The open connections (enumerating takes no snapshot and no lock; see <see cref="ConcurrentSlotSet{T}"/>).</summary>
    ConcurrentSlotSet<WebSocketConnection> Connections { get; }
}
