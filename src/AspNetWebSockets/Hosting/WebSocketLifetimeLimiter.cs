using System.Runtime.CompilerServices;
using Microsoft.Extensions.Hosting;

namespace AspNetWebSockets.Hosting;

/// <summary>
/// Enforces <see cref="WebSocketServerOptions.MaxConnectionLifetime"/>: one timer for the server (no timer per connection)
/// looks at every open connection and closes, with <see cref="WebSocketServerOptions.ConnectionLifetimeCloseCode"/>, those
/// past their own deadline — the lifetime minus that connection's share of <see cref="WebSocketServerOptions.ConnectionLifetimeJitter"/>.
/// </summary>
/// <remarks>
/// A connection's share of the jitter comes from its identity hash mixed with a per-process seed: fixed for the
/// connection (the deadline does not move between ticks) and spread uniformly over connections, without storing anything
/// per connection.
/// </remarks>
internal sealed class WebSocketLifetimeLimiter : IHostedService, IDisposable
{
    private readonly WebSocketServer _server;
    private readonly int _seed = Random.Shared.Next();
    private Timer? _timer;

    public WebSocketLifetimeLimiter(WebSocketServer server) => _server = server;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_server.Options.MaxConnectionLifetime is { } lifetime)
        {
            TimeSpan period = PeriodFor(lifetime, _server.Options.ConnectionLifetimeJitter);
            _timer = new Timer(static state => ((WebSocketLifetimeLimiter)state!).Tick(), this, period, period);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _timer?.Dispose(); // the shutdown drain closes what is left
        return Task.CompletedTask;
    }

    public void Dispose() => _timer?.Dispose();

    /// <summary>A tenth of the shorter of the lifetime and the jitter, 50 ms to 1 s: deadlines are honoured to within a tick.</summary>
    internal static TimeSpan PeriodFor(TimeSpan lifetime, TimeSpan jitter)
    {
        TimeSpan shortest = jitter > TimeSpan.Zero && jitter < lifetime ? jitter : lifetime;
        return TimeSpan.FromMilliseconds(Math.Clamp(shortest.TotalMilliseconds / 10, 50, 1000));
    }

    /// <summary>The connection's deadline in <see cref="Environment.TickCount64"/> milliseconds.</summary>
    internal long DeadlineOf(WebSocketConnection connection, TimeSpan lifetime, TimeSpan jitter)
    {
        uint hash = (uint)HashCode.Combine(RuntimeHelpers.GetHashCode(connection), _seed);
        double share = hash / (double)uint.MaxValue;
        return connection.OpenedAt + (long)(lifetime.TotalMilliseconds - share * jitter.TotalMilliseconds);
    }

    private void Tick()
    {
        WebSocketServerOptions options = _server.Options;
        if (options.MaxConnectionLifetime is not { } lifetime || _server.IsDraining)
        {
            return; // a drain is already closing every connection on its own schedule
        }

        long now = Environment.TickCount64;
        foreach (WebSocketConnection connection in _server.Connections)
        {
            if (connection.ReadyState == WebSocketReadyState.Open && now >= DeadlineOf(connection, lifetime, options.ConnectionLifetimeJitter))
            {
                Log.ConnectionLifetimeReached(_server.Logger, connection.ConnectionId, options.ConnectionLifetimeCloseCode);
                _ = connection.CloseQuietlyAsync(options.ConnectionLifetimeCloseCode, "Connection lifetime reached");
            }
        }
    }
}
