namespace AspNetWebSockets;

/// <summary>
/// How a drain closes the open connections (<c>o.Drain</c>): on host shutdown, or when the application calls
/// <see cref="IWebSocketDrain.DrainAsync(CancellationToken)"/> (e.g. from a Kubernetes <c>preStop</c> hook).
/// </summary>
/// <remarks>
/// Closing every connection at the same instant makes every client reconnect at the same instant, onto whatever nodes
/// are left; spreading the closes over <see cref="Window"/> (each connection at a random moment of its own slice of it)
/// turns that spike into a ramp.
/// </remarks>
public sealed class WebSocketDrainOptions
{
    private TimeSpan _window = TimeSpan.Zero;
    private TimeSpan _retryAfter = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The time over which the 1001 closes are spread. Default zero: all at once (the shutdown behaviour without a drain).
    /// On host shutdown the host waits up to this plus <see cref="WebSocketServerOptions.ShutdownTimeout"/>, so keep
    /// <c>HostOptions.ShutdownTimeout</c> (30 s by default) and Kubernetes' <c>terminationGracePeriodSeconds</c> above it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public TimeSpan Window
    {
        get => _window;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            _window = value;
        }
    }

    /// <summary>
    /// The <c>Retry-After</c> sent with the 503 that refuses upgrades while draining (whole seconds, at least 1). Default 5 s.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public TimeSpan RetryAfter
    {
        get => _retryAfter;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            _retryAfter = value;
        }
    }
}
