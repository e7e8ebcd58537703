namespace AspNetWebSockets;

/// <summary>
/// The event-loop execution mode (<c>o.EventLoop</c>), turned on by <c>builder.WebHost.UseWebSocketEventLoop()</c>: socket
/// completions and handlers run on the I/O threads, as in Node and uWebSockets, with no thread hops.
/// </summary>
/// <remarks>
/// A handler that blocks, or computes for long, stalls every connection on its I/O thread. Each receive callback (the
/// handler's run after a read, up to its next wait, and its opening run up to its first wait) is timed: one over <see cref="StallThreshold"/> is counted in the
/// <c>websocket.server.event_loop.stalls</c> metric and logged as a warning (at most once a second).
/// </remarks>
public sealed class WebSocketEventLoopOptions
{
    private TimeSpan _stallThreshold = TimeSpan.FromMilliseconds(50);
    private int _loopCount = Environment.ProcessorCount;

    /// <summary>Whether the event-loop mode is on; set by <c>UseWebSocketEventLoop()</c>, which also switches Kestrel's scheduling.</summary>
    public bool Enabled { get; internal set; }

    /// <summary>
    /// How many event loops (each an epoll instance and its thread) lean connections are spread over, in both execution
    /// modes. Default: one per core, as uWebSockets runs one per thread. Fewer loops than cores suit a machine the server
    /// shares (a proxy, a load generator): two busy loops and a third busy process on two cores take turns in the
    /// scheduler's time slices, and the connections of a loop that waits for its turn wait with it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public int LoopCount
    {
        get => _loopCount;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, 0);
            _loopCount = value;
        }
    }

    /// <summary>How long one receive callback may hold the I/O thread before it counts as a stall. Default 50 ms.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    public TimeSpan StallThreshold
    {
        get => _stallThreshold;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
            _stallThreshold = value;
        }
    }
}
