using System.Buffers.Binary;
using System.Diagnostics;
using AspNetWebSockets.Diagnostics;

namespace AspNetWebSockets;

/// <summary>
/// The round trip of our pings (keep-alive and <see cref="WebSocketConnection.PingAsync"/>): each carries its send time,
/// and the peer's matching pong measures the round trip. Holds the stamp of the latest ping, the latest measurement, and
/// the <c>PingAsync</c> callers' shared wait; the connection sends the pings (WebSocketConnection.RoundTrip.cs). Its own
/// type so this bookkeeping has one owner.
/// </summary>
/// <remarks>
/// A mutable struct held inline by the connection, like <see cref="KeepAliveClock"/>: as an object of its own it cost 56
/// bytes per connection (a header and two references besides its state). Keep it in a non-readonly field and pass it by
/// reference, never copy it.
/// </remarks>
internal struct RoundTripClock()
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
    /// Joins the <c>PingAsync</c> callers' shared wait, or makes <paramref name="mine"/> that wait (then the caller sends
    /// the ping). Returns the wait joined.
    /// </summary>
    public TaskCompletionSource<TimeSpan> JoinWait(TaskCompletionSource<TimeSpan> mine) =>
        Interlocked.CompareExchange(ref _waiter, mine, null) ?? mine;

    /// <summary>Ends <paramref name="mine"/> as the shared wait, if it still is.</summary>
    public void LeaveWait(TaskCompletionSource<TimeSpan> mine) => Interlocked.CompareExchange(ref _waiter, null, mine);

    /// <summary>
    /// Writes a new ping's payload — its send time — into <paramref name="payload"/> and records it as the one whose pong
    /// counts: before it is sent, because the pong may beat the send's completion.
    /// </summary>
    public void Stamp(Span<byte> payload)
    {
        long stamp = Stopwatch.GetTimestamp();
        BinaryPrimitives.WriteInt64BigEndian(payload, stamp);
        Volatile.Write(ref _outstandingStamp, stamp);
    }

    /// <summary>
    /// A pong arrived: one carrying the stamp of our latest ping measures the round trip (kept, recorded in
    /// <paramref name="metrics"/>, and handed to the waiting <c>PingAsync</c> callers); any other pong (unsolicited, or
    /// answering an older ping) is only liveness.
    /// </summary>
    public void OnPong(ReadOnlySpan<byte> payload, WebSocketMetrics? metrics)
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
}
