using System.Buffers.Binary;
using System.Diagnostics;
using AspNetWebSockets.Diagnostics;

namespace AspNetWebSockets;

/// <summary>
/// The round trip of our pings (keep-alive and <see cref="WebSocketConnection.PingAsync"/>): each carries its send time,
/// and the peer's matching pong measures the round trip. Holds the stamp of the latest ping, the latest measurement, and
/// the <c>PingAsync</c> callers' shared wait. Its own type so this bookkeeping has one owner and no I/O.
/// </summary>
internal sealed class RoundTripClock(WebSocketMetrics? metrics)
{
    /// <summary>Size of the payload our pings carry: the <see cref="Stopwatch"/> timestamp at which they were sent.</summary>
    public const int StampLength = sizeof(long);

    // The timestamp carried by the latest ping we sent (0 once its pong has come back), the latest measured round trip in
    // Stopwatch ticks (-1 before the first), and the PingAsync callers' shared wait (null when nobody waits).
    private long _outstandingStamp;
    private long _latestTicks = -1;
    private TaskCompletionSource<TimeSpan>? _waiter;

    /// <summary>The latest measured round trip; null until one has been measured.</summary>
    public TimeSpan? Latest
    {
        get
        {
            long ticks = Volatile.Read(ref _latestTicks);
            return ticks < 0 ? null : Stopwatch.GetElapsedTime(0, ticks);
        }
    }

    /// <summary>
    /// Writes the payload of a new ping (<see cref="StampLength"/> bytes) and records it as the one whose pong counts —
    /// before it is sent, because the pong may beat the send's completion.
    /// </summary>
    public void Stamp(Span<byte> payload)
    {
        long stamp = Stopwatch.GetTimestamp();
        BinaryPrimitives.WriteInt64BigEndian(payload, stamp);
        Volatile.Write(ref _outstandingStamp, stamp);
    }

    /// <summary>
    /// A pong arrived: one carrying the stamp of our latest ping measures the round trip (kept, recorded in the metrics,
    /// and handed to the waiting <c>PingAsync</c> callers); any other pong (unsolicited, or answering an older ping) is
    /// only liveness.
    /// </summary>
    public void OnPong(ReadOnlySpan<byte> payload)
    {
        if (payload.Length != StampLength)
        {
            return;
        }

        long stamp = BinaryPrimitives.ReadInt64BigEndian(payload);
        if (stamp == 0 || Interlocked.CompareExchange(ref _outstandingStamp, 0, stamp) != stamp)
        {
            return;
        }

        long now = Stopwatch.GetTimestamp();
        Volatile.Write(ref _latestTicks, now - stamp);
        TimeSpan roundTrip = Stopwatch.GetElapsedTime(stamp, now);
        metrics?.RoundTrip(roundTrip);
        Volatile.Read(ref _waiter)?.TrySetResult(roundTrip);
    }

    /// <summary>
    /// Joins the wait for the next measured pong; true when this caller started it (and must send the ping, then call
    /// <see cref="EndWait"/>), false when it shares a ping already awaited.
    /// </summary>
    public bool JoinWait(out TaskCompletionSource<TimeSpan> waiter)
    {
        var mine = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        waiter = Interlocked.CompareExchange(ref _waiter, mine, null) ?? mine;
        return waiter == mine;
    }

    /// <summary>Ends the wait started by <see cref="JoinWait"/>.</summary>
    public void EndWait(TaskCompletionSource<TimeSpan> waiter) => Interlocked.CompareExchange(ref _waiter, null, waiter);
}
