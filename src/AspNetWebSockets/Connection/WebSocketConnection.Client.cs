using AspNetWebSockets.Transport;

namespace AspNetWebSockets;

public sealed partial class WebSocketConnection
{
    /// <summary>
    /// Creates the client end of a WebSocket over a stream on which the opening handshake (RFC 6455 §4.1) has already
    /// completed: frames are masked as a client's must be, and the server's must not be. This is how
    /// <c>AspNetWebSockets.Testing</c> builds its in-memory and TCP clients, and how any other client on this protocol
    /// core can be built.
    /// </summary>
    /// <remarks>
    /// The connection owns <paramref name="stream"/> from here on: it reads the stream as frames arrive, and disposes it
    /// after the close handshake or on <see cref="Abort"/>. Bytes the server sent after its handshake response must
    /// still be unread in the stream. The client sends no keep-alive pings, negotiates no extensions and records no
    /// metrics.
    /// </remarks>
    /// <param name="stream">A duplex stream positioned just after the server's handshake response.</param>
    /// <param name="subProtocol">The subprotocol the server selected, or null when it selected none.</param>
    /// <param name="maxMessageSize">The largest message (and frame) the client accepts; larger ones fail the connection with 1009.</param>
    /// <param name="closeTimeout">How long to wait for the server's close frame after sending ours, or <see cref="Timeout.InfiniteTimeSpan"/>.</param>
    /// <returns>An open connection in the client role.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="stream"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxMessageSize"/> is not positive, or <paramref name="closeTimeout"/> is negative and not infinite.</exception>
    public static WebSocketConnection CreateClient(Stream stream, string? subProtocol, long maxMessageSize, TimeSpan closeTimeout)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return new WebSocketConnection(
            new StreamTransport(stream),
            WebSocketConnectionSettings.ForClient(maxMessageSize, closeTimeout),
            new PerConnectionSettings { SubProtocol = subProtocol, ConnectionId = "client" });
    }
}
