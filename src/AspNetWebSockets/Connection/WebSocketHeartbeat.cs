namespace AspNetWebSockets;

/// <summary>
/// One timer for all connections (an idle connection owns no timer of its own): every tick it lets each
/// registered connection decide whether to ping or whether its peer has gone silent for too long.
/// </summary>
/// <remarks>
/// Its set of connections is also the server's registry of open connections (drain, shutdown, lifetime limit, "all"
/// groups, readiness): a connection registers when it is created and leaves when it moves to Closed, or, for the server's
/// connections, when the server is done with them (<see cref="WebSocketConnectionSettings.OwnerUnregisters"/>). One registry rather
/// than a second one in the hosting layer, which reads this one since dependencies point down; a
/// <see cref="ConcurrentSlotSet{T}"/> rather than a <c>ConcurrentDictionary</c>, which cost a 40-byte node and a bucket per
/// connection.
/// </remarks>
internal sealed class WebSocketHeartbeat : IDisposable
{
    private readonly ConcurrentSlotSet<WebSocketConnection> _connections = new();
    private readonly Timer _timer;

    public WebSocketHeartbeat(TimeSpan period)
    {
        _timer = new Timer(static state => ((WebSocketHeartbeat)state!).Tick(), this, period, period);
    }

    /// <summary>A tick often enough to honour the interval and timeout within a quarter of the shorter one, 10 ms to 1 s.</summary>
    public static TimeSpan PeriodFor(TimeSpan interval, TimeSpan timeout)
    {
        if (interval == Timeout.InfiniteTimeSpan)
        {
            return TimeSpan.FromSeconds(1); // still needed to notice peers that vanish while the application is not reading
        }

        TimeSpan shortest = timeout > TimeSpan.Zero && timeout < interval ? timeout : interval;
        long ms = Math.Clamp((long)shortest.TotalMilliseconds / 4, 10, 1000);
        return TimeSpan.FromMilliseconds(ms);
    }

    /// <summary>How many connections are registered.</summary>
    public int Count => _connections.Count;

    /// <summary>
    /// The registered connections: enumerating takes no snapshot and no lock, allocates nothing, and visits once every
    /// connection registered for the whole enumeration (see <see cref="ConcurrentSlotSet{T}"/>).
    /// </summary>
    public ConcurrentSlotSet<WebSocketConnection> Connections => _connections;

    public void Register(WebSocketConnection connection) => _connections.Add(connection);

    public void Unregister(WebSocketConnection connection) => _connections.Remove(connection);

    public void Dispose() => _timer.Dispose();

    private void Tick()
    {
        long now = Environment.TickCount64;
        foreach (WebSocketConnection connection in _connections)
        {
            connection.OnHeartbeat(now);
        }
    }
}
