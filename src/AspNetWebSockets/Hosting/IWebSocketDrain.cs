namespace AspNetWebSockets;

/// <summary>
/// Takes this node out of service without a thundering herd: once a drain begins, readiness fails (see
/// <c>AddWebSocketHealthChecks</c>), new upgrades get 503 with <c>Retry-After</c>, and every open connection is closed with
/// 1001 at a random moment spread over <see cref="WebSocketDrainOptions.Window"/>. Host shutdown drains by itself; call this
/// earlier (a Kubernetes <c>preStop</c> hook, an admin endpoint) to let clients move before the process is signalled.
/// Injectable as a singleton once <c>AddWebSockets</c> has run.
/// </summary>
public interface IWebSocketDrain
{
    /// <summary>True once a drain has begun; it is never undone (a drained node is meant to stop).</summary>
    bool IsDraining { get; }

    /// <summary>Drains over <see cref="WebSocketDrainOptions.Window"/>.</summary>
    /// <param name="cancellationToken">Hurries the drain: connections not yet closed are closed at once. The returned task still waits (bounded) for their close handshakes.</param>
    /// <returns>A task that completes when every connection open at the start has closed, or was aborted after
    /// <see cref="WebSocketServerOptions.ShutdownTimeout"/> past the window.</returns>
    Task DrainAsync(CancellationToken cancellationToken = default);

    /// <summary>Drains over <paramref name="window"/>. A second call joins the drain already under way (its window is ignored).</summary>
    /// <param name="window">The time over which the closes are spread; zero closes everything at once.</param>
    /// <param name="cancellationToken">Hurries the drain: connections not yet closed are closed at once.</param>
    /// <returns>A task that completes when every connection has closed (or was aborted, bounded).</returns>
    Task DrainAsync(TimeSpan window, CancellationToken cancellationToken = default);
}
