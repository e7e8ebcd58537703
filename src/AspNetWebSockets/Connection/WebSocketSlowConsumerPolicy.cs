namespace AspNetWebSockets;

/// <summary>What a send does when a peer does not read fast enough (see <see cref="WebSocketServerOptions.MaxBufferedAmount"/>).</summary>
public enum WebSocketSlowConsumerPolicy
{
    /// <summary>Sends wait for the transport: the sender is slowed to the peer's pace.</summary>
    Backpressure,

    /// <summary>A send over the limit throws and the connection is dropped; <see cref="WebSocketConnection.Closed"/> reports 1008.</summary>
    Drop,
}
