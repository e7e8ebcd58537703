using System.Buffers;
using System.Net.WebSockets;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets;

public sealed partial class WebSocketConnection
{
    /// <summary>
    /// Called by the shared heartbeat. Lets the idle reader look at the input while the application is not reading (see
    /// <see cref="IdleInputReader"/>): answers the pings and runs the close it consumed, and notices a peer that
    /// disconnected (reported as 1006, so <see cref="ConnectionClosed"/> fires). Then keep-alive: pings a peer that has
    /// been silent for the interval, and aborts it (1006) when nothing at all has arrived within the timeout after the ping.
    /// </summary>
    internal void OnHeartbeat(long now)
    {
        if (ReadyState != WebSocketReadyState.Open)
        {
            return;
        }

        switch (_idleInput.Peek(now, in _pendingEvent))
        {
            case IdleInputReader.Outcome.PeerGone:
                Terminate(new WebSocketCloseInfo(WebSocketCloseCode.AbnormalClosure, string.Empty, WasClean: false), graceful: false);
                return;
            case IdleInputReader.Outcome.Ping:
                _ = AnswerIdlePingAsync();
                break;
            case IdleInputReader.Outcome.Close:
                _ = CloseReceivedInBackgroundAsync(); // moves to Closing before it first waits
                break;
        }

        switch (ReadyState == WebSocketReadyState.Open ? _keepAlive.Tick(now) : KeepAliveClock.Verdict.Nothing)
        {
            case KeepAliveClock.Verdict.Ping:
                _ = SendKeepAlivePingAsync();
                break;
            case KeepAliveClock.Verdict.TimedOut:
                Log.KeepAliveTimeout(_logger, ConnectionId, (long)_keepAlive.Timeout.TotalMilliseconds);
                Abort();
                break;
        }
    }

    /// <summary>
    /// Acts on a control event from the receive loop: answers pings, notes pongs, and runs the peer's side of the close
    /// handshake. Returns true when the connection is now closed.
    /// </summary>
    private async ValueTask<bool> HandleControlFrameAsync(ProtocolEvent received)
    {
        switch (received)
        {
            case ProtocolEvent.Pong:
                // Any inbound byte already counts as liveness; a pong to our ping also measures the round trip.
                _roundTrip.OnPong(_protocol.ControlPayload);
                return false;

            case ProtocolEvent.Ping:
            {
                // The protocol's buffer is reused by the next decode, so copy the payload out before awaiting.
                int length = _protocol.ControlPayload.Length;
                byte[] payload = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
                _protocol.ControlPayload.CopyTo(payload);
                try
                {
                    await AnswerPingAsync(payload.AsMemory(0, length)).ConfigureAwait(false);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(payload);
                }

                return ReadyState == WebSocketReadyState.Closed;
            }

            default:
                await OnCloseReceivedAsync().ConfigureAwait(false);
                return true;
        }
    }

    /// <summary>Sends the pong that answers a ping, if the connection is still open.</summary>
    private async ValueTask AnswerPingAsync(ReadOnlyMemory<byte> payload)
    {
        try
        {
            if (ReadyState == WebSocketReadyState.Open)
            {
                await SendControlFrameAsync(WebSocketOpcode.Pong, payload, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is WebSocketException or InvalidOperationException or ObjectDisposedException)
        {
            // The connection failed while answering; it is already terminated, and the next read reports the close.
        }
    }

    /// <summary>Answers the latest ping the idle reader consumed.</summary>
    private async Task AnswerIdlePingAsync()
    {
        try
        {
            await AnswerPingAsync(_idleInput.Pong).ConfigureAwait(false);
        }
        finally
        {
            _idleInput.PongSent();
        }
    }

    /// <summary>Runs the peer's side of the close handshake for a close frame the idle reader consumed.</summary>
    private async Task CloseReceivedInBackgroundAsync()
    {
        try
        {
            await OnCloseReceivedAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or InvalidOperationException or ObjectDisposedException)
        {
            // The transport failed while echoing the close; the connection is already terminated.
        }
    }

    private async Task SendKeepAlivePingAsync()
    {
        try
        {
            await SendStampedPingAsync(CancellationToken.None).ConfigureAwait(false); // stamped: its pong measures the round trip
        }
        catch (Exception e) when (e is WebSocketException or InvalidOperationException or ObjectDisposedException)
        {
            // A failed ping means a failed transport; the connection has already been terminated.
        }
    }
}
