using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace AspNetWebSockets.Diagnostics;

/// <summary>
/// Event-loop mode: notices receive callbacks that held an I/O thread longer than the threshold, counts every one in the
/// metrics and logs a warning at most once a second (with how many were not logged), so a handler that blocks is visible
/// without flooding the log.
/// </summary>
internal sealed class WebSocketLoopStallMonitor(TimeSpan threshold, ILogger logger, WebSocketMetrics? metrics)
{
    private static readonly long WarningInterval = Stopwatch.Frequency;

    private readonly long _thresholdTicks = (long)(threshold.TotalSeconds * Stopwatch.Frequency);
    private long _lastWarning = long.MinValue / 2;
    private long _suppressed;

    /// <summary>Checks a callback that started at <paramref name="started"/> (a <see cref="Stopwatch"/> timestamp) and has just ended.</summary>
    public void Observe(WebSocketConnection connection, long started)
    {
        long now = Stopwatch.GetTimestamp();
        long elapsed = now - started;
        if (elapsed <= _thresholdTicks)
        {
            return;
        }

        metrics?.LoopStalled();
        long last = Volatile.Read(ref _lastWarning);
        if (now - last < WarningInterval || Interlocked.CompareExchange(ref _lastWarning, now, last) != last)
        {
            Interlocked.Increment(ref _suppressed);
            return;
        }

        Log.EventLoopStalled(
            logger,
            connection.ConnectionId,
            elapsed * 1000 / Stopwatch.Frequency,
            _thresholdTicks * 1000 / Stopwatch.Frequency,
            Interlocked.Exchange(ref _suppressed, 0));
    }
}
