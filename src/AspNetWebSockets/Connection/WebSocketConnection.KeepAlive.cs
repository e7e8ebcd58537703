using System.Buffers;
using System.IO.Pipelines;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets;

public sealed partial class WebSocketConnection
{
    /// <summary>
    /// Called by the shared heartbeat. Notices a peer that disconnected while the application was not reading
    /// (reported as 1006, so <see cref="ConnectionClosed"/> fires); pings a peer that has been silent for the
    /// keep-alive interval; aborts it (1006) when nothing at all has arrived within the keep-alive timeout after the ping.
    /// </summary>
    internal void OnHeartbeat(long now)
    {
        if (ReadyState != WebSocketReadyState.Open)
        {
            return;
        }

        if (PeekIdleInput(now))
        {
            Terminate(new WebSocketCloseInfo(WebSocketCloseCode.AbnormalClosure, string.Empty, WasClean: false), graceful: false);
            return;
        }

        TimeSpan interval = _settings.KeepAliveInterval;
        if (interval == Timeout.InfiniteTimeSpan || ReadyState != WebSocketReadyState.Open)
        {
            return; // no keep-alive, or the peek just saw the peer's close
        }

        long lastReceived = Volatile.Read(ref _lastReceived);
        long pingSentAt = Volatile.Read(ref _pingSentAt);
        if (pingSentAt != 0 && lastReceived < pingSentAt)
        {
            TimeSpan timeout = _settings.KeepAliveTimeout;
            if (timeout == Timeout.InfiniteTimeSpan || now - pingSentAt < (long)timeout.TotalMilliseconds)
            {
                return;
            }

            Log.KeepAliveTimeout(_logger, ConnectionId, (long)timeout.TotalMilliseconds);
            Abort();
            return;
        }

        if (now - lastReceived >= (long)interval.TotalMilliseconds)
        {
            Volatile.Write(ref _pingSentAt, now);
            _ = SendKeepAlivePingAsync();
        }
    }

    /// <summary>
    /// Looks at the input while the application is not reading. Bytes from a live peer pile up unread in the input
    /// pipe, and unread bytes suspend the timeout — this is what lets keep-alive work without a pending receive. Control
    /// frames at the head of the input are consumed and answered here (see <see cref="ConsumeIdleControlFrames"/>), so a
    /// handler that only sends still answers the peer's pings and sees its close; a data frame stops that and stays for
    /// the application. Returns true when the peer has gone (end of stream with nothing left unread, or a transport
    /// error). Taking the receive slot makes the peek safe: no read can be in flight while we hold it.
    /// </summary>
    /// <remarks>
    /// Driven by the shared heartbeat tick rather than by a read awaited whenever the application stops reading: an
    /// awaited read would hold a suspended read (and its state) for every connection whose handler is busy or idle, need
    /// a cancel-and-hand-over protocol with the application's next receive (racing <c>CancelPendingRead</c> against the
    /// pipe), and start on every receive exit of the echo hot path. The tick costs one non-blocking <c>TryRead</c> per
    /// connection and bounds the answer's latency by the tick period (at most 1 s; a quarter of the keep-alive interval or
    /// timeout when those are shorter), well inside the ping timeouts of clients and proxies.
    /// </remarks>
    private bool PeekIdleInput(long now)
    {
        if (Interlocked.CompareExchange(ref _receiving, ReceiveByPeek, ReceiveIdle) != ReceiveIdle)
        {
            return false; // a receive is in flight and records arrivals and the end of stream itself
        }

        IdleControlWork work = default;
        try
        {
            if (!_input.TryRead(out ReadResult read))
            {
                return false;
            }

            ReadOnlySequence<byte> data = read.Buffer;
            long length = data.Length;
            SequencePosition consumed = length > 0 && !read.IsCanceled ? ConsumeIdleControlFrames(data, ref work) : data.Start;
            _input.AdvanceTo(consumed); // examine nothing, so the next receive (or tick) sees the rest at once
            if (length > 0)
            {
                // Growth proves life. Unread bytes that do not grow prove nothing either way: a pong may be queued
                // behind them (or held back by a full input buffer), so the backlog is ours, not the peer's silence.
                Volatile.Write(ref _lastReceived, now);
            }

            // Unread messages before the end stay readable: the application decides when to read them.
            return !work.Closed && read.IsCompleted && data.Slice(consumed).IsEmpty;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return true; // the transport failed (reset) or was completed under us
        }
        finally
        {
            ExitReceive();
            CompleteIdleControlWork(ref work);
        }
    }

    private async Task SendKeepAlivePingAsync()
    {
        try
        {
            await SendStampedPingAsync(CancellationToken.None).ConfigureAwait(false); // stamped: its pong measures the round trip
        }
        catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or InvalidOperationException or ObjectDisposedException)
        {
            // A failed ping means a failed transport; the connection has already been terminated.
        }
    }
}
