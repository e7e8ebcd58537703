using System.IO.Pipelines;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets;

public sealed partial class WebSocketConnection
{
    private long _lastReceived;
    private long _pingSentAt;
    private long _unreadSeen;

    /// <summary>
    /// Called by the shared heartbeat. Pings a peer that has been silent for the keep-alive interval; aborts it
    /// (reported as 1006) when nothing at all has arrived within the keep-alive timeout after the ping.
    /// </summary>
    internal void OnHeartbeat(long now)
    {
        if (ReadyState != WebSocketReadyState.Open)
        {
            return;
        }

        long lastReceived = Volatile.Read(ref _lastReceived);
        long pingSentAt = Volatile.Read(ref _pingSentAt);
        if (pingSentAt != 0 && lastReceived < pingSentAt)
        {
            TimeSpan timeout = _settings.KeepAliveTimeout;
            if (timeout == Timeout.InfiniteTimeSpan || now - pingSentAt < (long)timeout.TotalMilliseconds || SawUnreadBytes(now))
            {
                return;
            }

            Log.KeepAliveTimeout(_logger, ConnectionId, (long)timeout.TotalMilliseconds);
            Abort();
            return;
        }

        if (now - lastReceived >= (long)_settings.KeepAliveInterval.TotalMilliseconds)
        {
            Volatile.Write(ref _pingSentAt, now);
            _ = SendKeepAlivePingAsync();
        }
    }

    /// <summary>
    /// When the application is not reading, bytes from a live peer pile up unread in the input pipe; growth since the
    /// last look proves the peer is alive. This is what lets keep-alive work without a pending receive. Taking the
    /// receive slot makes the peek safe: no read can be in flight while we hold it.
    /// </summary>
    private bool SawUnreadBytes(long now)
    {
        if (Interlocked.CompareExchange(ref _receiving, 1, 0) != 0)
        {
            return false; // a receive is in flight and would have recorded any arrival itself
        }

        try
        {
            if (!_input.TryRead(out ReadResult read))
            {
                return false;
            }

            long length = read.Buffer.Length;
            _input.AdvanceTo(read.Buffer.Start); // consume nothing, so the next receive sees the same bytes
            if (length > _unreadSeen)
            {
                _unreadSeen = length;
                Volatile.Write(ref _lastReceived, now);
                return true;
            }

            return false;
        }
        catch (InvalidOperationException)
        {
            return false; // the reader was completed under us: the connection is closing anyway
        }
        finally
        {
            ExitReceive();
        }
    }

    private async Task SendKeepAlivePingAsync()
    {
        try
        {
            await SendControlFrameAsync(WebSocketOpcode.Ping, ReadOnlyMemory<byte>.Empty, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or InvalidOperationException or ObjectDisposedException)
        {
            // A failed ping means a failed transport; the connection has already been terminated.
        }
    }
}
