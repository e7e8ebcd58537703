namespace AspNetWebSockets;

/// <summary>The connection's state, numbered as the browser's <c>WebSocket.readyState</c>.</summary>
public enum WebSocketReadyState
{
    /// <summary>The opening handshake has not completed.</summary>
    Connecting = 0,

    /// <summary>Messages can be sent and received.</summary>
    Open = 1,

    /// <summary>A close frame was sent or received; the close handshake is in progress.</summary>
    Closing = 2,

    /// <summary>The connection is closed; <see cref="WebSocketConnection.Closed"/> has completed.</summary>
    Closed = 3,
}
