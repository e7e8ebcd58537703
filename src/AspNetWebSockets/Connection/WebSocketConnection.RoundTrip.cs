using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.WebSockets;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets;

public sealed partial class WebSocketConnection
{
    /// <summary>Size of the payload our pings carry: the <see cref="Stopwatch"/> timestamp at which they were sent.</summary>
    private const int PingStampLength = sizeof(long);

    /// <summary>
    /// The latest measured round-trip time: from sending a ping (keep-alive or <see cref="PingAsync"/>) to the peer's
    /// matching pong. Null until one has been measured.
    /// </summary>
    public TimeSpan? RoundTripTime
    {
        get
        {
            long ticks = Volatile.Read(ref _roundTripTicks);
            return ticks < 0 ? null : Stopwatch.GetElapsedTime(0, ticks);
        }
    }

    /// <summary>
    /// Sends a ping and waits for the peer's matching pong; returns the round-trip time (also kept in
    /// <see cref="RoundTripTime"/> and recorded in the <c>websocket.server.rtt</c> histogram). Calls made while a ping is
    /// already awaited share it. The peer's pong arrives whether or not the application is reading (see the class remarks).
    /// </summary>
    /// <param name="cancellationToken">Stops waiting; a pong that arrives later still updates <see cref="RoundTripTime"/>.</param>
    /// <returns>The round-trip time.</returns>
    /// <exception cref="InvalidOperationException">The connection is not open.</exception>
    /// <exception cref="WebSocketException">The connection closed before the pong arrived.</exception>
    public async Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
    {
        if (ReadyState != WebSocketReadyState.Open)
        {
            throw new InvalidOperationException("The connection is not open.");
        }

        var mine = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource<TimeSpan> waiter = Interlocked.CompareExchange(ref _pingWaiter, mine, null) ?? mine;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, ConnectionClosed);
        try
        {
            if (waiter == mine)
            {
                await SendStampedPingAsync(stop.Token).ConfigureAwait(false);
            }

            return await waiter.Task.WaitAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new WebSocketException(WebSocketError.ConnectionClosedPrematurely, "The connection closed before the pong arrived.");
        }
        finally
        {
            Interlocked.CompareExchange(ref _pingWaiter, null, mine);
        }
    }

    /// <summary>Sends a ping whose payload is the send time, so the matching pong measures the round trip.</summary>
    private async ValueTask SendStampedPingAsync(CancellationToken cancellationToken)
    {
        long stamp = Stopwatch.GetTimestamp();
        byte[] payload = ArrayPool<byte>.Shared.Rent(PingStampLength);
        try
        {
            BinaryPrimitives.WriteInt64BigEndian(payload, stamp);
            Volatile.Write(ref _outstandingPingStamp, stamp); // before sending: the pong may beat the send's completion
            await SendControlFrameAsync(WebSocketOpcode.Ping, payload.AsMemory(0, PingStampLength), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(payload);
        }
    }

    /// <summary>
    /// The pong hook, called wherever a pong is consumed: a pong carrying the stamp of our latest ping measures
    /// the round trip; any other pong (unsolicited, or answering an older ping) is only liveness.
    /// </summary>
    private void OnPongReceived(ReadOnlySpan<byte> payload)
    {
        if (payload.Length != PingStampLength)
        {
            return;
        }

        long stamp = BinaryPrimitives.ReadInt64BigEndian(payload);
        if (stamp == 0 || Interlocked.CompareExchange(ref _outstandingPingStamp, 0, stamp) != stamp)
        {
            return;
        }

        long now = Stopwatch.GetTimestamp();
        Volatile.Write(ref _roundTripTicks, now - stamp);
        TimeSpan roundTrip = Stopwatch.GetElapsedTime(stamp, now);
        _metrics?.RoundTrip(roundTrip);
        Volatile.Read(ref _pingWaiter)?.TrySetResult(roundTrip);
    }
}
