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

        switch (_idleInput.Peek(Input, Engine, ref _roundTrip, Metrics, ref _receiveSlot, ref _keepAlive, in _pendingEvent))
        {
            case IdleInputReader.Outcome.PeerGone:
                Terminate(AbnormalClosure, graceful: false);
                return;
            case IdleInputReader.Outcome.Ping:
                _ = AnswerIdlePingAsync();
                break;
            case IdleInputReader.Outcome.Close:
                _ = FrameSender.InBackgroundAsync(OnCloseReceivedAsync()); // moves to Closing before it first waits
                break;
        }

        switch (ReadyState == WebSocketReadyState.Open ? _keepAlive.Tick(now, _settings.KeepAliveInterval, _settings.KeepAliveTimeout) : KeepAliveClock.Verdict.Nothing)
        {
            case KeepAliveClock.Verdict.Ping:
                _ = FrameSender.InBackgroundAsync(SendStampedPingAsync(CancellationToken.None)); // stamped: its pong measures the round trip
                break;
            case KeepAliveClock.Verdict.TimedOut:
                Log.KeepAliveTimeout(Logger, ConnectionId, (long)_settings.KeepAliveTimeout.TotalMilliseconds);
                Abort();
                break;
        }
    }

    /// <summary>
    /// After the idle reader consumed pings, outside the receive slot: sends the pong that answers the latest, if the
    /// connection is still open. Once it has gone (or could not), the next peek may consume pings again.
    /// </summary>
    private async Task AnswerIdlePingAsync()
    {
        try
        {
            if (ReadyState == WebSocketReadyState.Open)
            {
                await FrameSender.InBackgroundAsync(_sender.SendControlAsync(WebSocketOpcode.Pong, _idleInput.Pong, CancellationToken.None)).ConfigureAwait(false);
            }
        }
        finally
        {
            _idleInput.PongSent();
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
                _roundTrip.OnPong(Engine.ControlPayload, Metrics);
                return false;

            case ProtocolEvent.Ping:
                // Answered from the protocol's buffer: nothing is decoded until this returns, and the receive slot keeps
                // the idle reader out meanwhile.
                if (ReadyState == WebSocketReadyState.Open)
                {
                    await FrameSender.InBackgroundAsync(SendControlFrameAsync(WebSocketOpcode.Pong, Engine.PongPayload, CancellationToken.None)).ConfigureAwait(false);
                }

                return ReadyState == WebSocketReadyState.Closed;

            default:
                await OnCloseReceivedAsync().ConfigureAwait(false);
                return true;
        }
    }
}
