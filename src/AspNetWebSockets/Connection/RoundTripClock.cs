using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.WebSockets;
using AspNetWebSockets.Diagnostics;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets;

/// <summary>
/// The round trip of our pings (keep-alive and <see cref="WebSocketConnection.PingAsync"/>): each carries its send time,
/// and the peer's matching pong measures the round trip. Holds the stamp of the latest ping, the latest measurement, and
/// the <c>PingAsync</c> callers' shared wait; sends its pings through the connection's <see cref="FrameSender"/>. Its own
/// type so this bookkeeping has one owner.
/// </summary>
internal sealed class RoundTripClock(FrameSender sender, WebSocketMetrics? metrics)
{
    /// <summary>Size of the payload our pings carry: the <see cref="Stopwatch"/> timestamp at which they were sent.</summary>
    private const int StampLength = sizeof(long);

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
    /// Sends a ping and waits for the peer's matching pong; returns the round trip. Calls made while a ping is already
    /// awaited share it.
    /// </summary>
    /// <param name="connectionClosed">Cancelled when the connection ends: the wait then fails.</param>
    /// <param name="cancellationToken">Stops waiting; a pong that arrives later still updates <see cref="Latest"/>.</param>
    /// <exception cref="WebSocketException">The connection closed before the pong arrived.</exception>
    public async Task<TimeSpan> PingAsync(CancellationToken connectionClosed, CancellationToken cancellationToken)
    {
        var mine = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource<TimeSpan> waiter = Interlocked.CompareExchange(ref _waiter, mine, null) ?? mine;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, connectionClosed);
        try
        {
            if (waiter == mine)
            {
                await SendPingAsync(stop.Token).ConfigureAwait(false);
            }

            return await waiter.Task.WaitAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new WebSocketException(WebSocketError.ConnectionClosedPrematurely, "The connection closed before the pong arrived.");
        }
        finally
        {
            Interlocked.CompareExchange(ref _waiter, null, mine);
        }
    }

    /// <summary>
    /// Sends a ping whose payload is its send time, recorded as the one whose pong counts — before it is sent, because the
    /// pong may beat the send's completion.
    /// </summary>
    public async ValueTask SendPingAsync(CancellationToken cancellationToken)
    {
        byte[] payload = ArrayPool<byte>.Shared.Rent(StampLength);
        try
        {
            long stamp = Stopwatch.GetTimestamp();
            BinaryPrimitives.WriteInt64BigEndian(payload, stamp);
            Volatile.Write(ref _outstandingStamp, stamp);
            await sender.SendControlAsync(WebSocketOpcode.Ping, payload.AsMemory(0, StampLength), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(payload);
        }
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
}
