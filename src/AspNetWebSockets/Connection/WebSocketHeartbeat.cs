using System.Collections.Concurrent;

namespace AspNetWebSockets;

/// <summary>
/// One timer for all connections (an idle connection owns no timer of its own): every tick it lets each
/// registered connection decide whether to ping or whether its peer has gone silent for too long.
/// </summary>
internal sealed class WebSocketHeartbeat : IDisposable
{
    private readonly ConcurrentDictionary<WebSocketConnection, byte> _connections = new();
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

    public void Register(WebSocketConnection connection) => _connections.TryAdd(connection, 0);

    public void Unregister(WebSocketConnection connection) => _connections.TryRemove(connection, out _);

    public void Dispose() => _timer.Dispose();

    private void Tick()
    {
        long now = Environment.TickCount64;
        foreach (KeyValuePair<WebSocketConnection, byte> entry in _connections)
        {
            entry.Key.OnHeartbeat(now);
        }
    }
}
