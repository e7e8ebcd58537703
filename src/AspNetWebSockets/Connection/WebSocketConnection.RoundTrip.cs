using System.Net.WebSockets;

namespace AspNetWebSockets;

public sealed partial class WebSocketConnection
{
    /// <summary>
    /// The latest measured round-trip time: from sending a ping (keep-alive or <see cref="PingAsync"/>) to the peer's
    /// matching pong. Null until one has been measured.
    /// </summary>
    public TimeSpan? RoundTripTime => _roundTrip.Latest;

    /// <summary>
    /// Sends a ping and waits for the peer's matching pong; returns the round-trip time (also kept in
    /// <see cref="RoundTripTime"/> and recorded in the <c>websocket.server.rtt</c> histogram). Calls made while a ping is
    /// already awaited share it. The peer's pong arrives whether or not the application is reading (see the class remarks).
    /// </summary>
    /// <param name="cancellationToken">Stops waiting; a pong that arrives later still updates <see cref="RoundTripTime"/>.</param>
    /// <returns>The round-trip time.</returns>
    /// <exception cref="InvalidOperationException">The connection is not open.</exception>
    /// <exception cref="WebSocketException">The connection closed before the pong arrived.</exception>
    public Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default) =>
        ReadyState == WebSocketReadyState.Open
            ? _roundTrip.PingAsync(ConnectionClosed, cancellationToken)
            : Task.FromException<TimeSpan>(new InvalidOperationException("The connection is not open."));
}
