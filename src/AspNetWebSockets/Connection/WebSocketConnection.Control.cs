using System.Buffers;
using System.IO.Pipelines;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets;

public sealed partial class WebSocketConnection
{
    /// <summary>
    /// Acts on a control event from the protocol: answers pings, notes pongs, and runs the peer's side of the close
    /// handshake. Returns true when the connection is now closed.
    /// </summary>
    private async ValueTask<bool> HandleControlFrameAsync(ProtocolEvent received)
    {
        switch (received)
        {
            case ProtocolEvent.Pong:
                // Any inbound byte already counts as liveness; a pong to our ping also measures the round trip.
                OnPongReceived(_protocol.ControlPayload);
                return false;

            case ProtocolEvent.Ping:
            {
                // The protocol's buffer is reused by the next decode, so copy the payload out before awaiting.
                int length = _protocol.ControlPayload.Length;
                byte[] payload = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
                _protocol.ControlPayload.CopyTo(payload);
                try
                {
                    if (ReadyState == WebSocketReadyState.Open)
                    {
                        await SendControlFrameAsync(WebSocketOpcode.Pong, payload.AsMemory(0, length), CancellationToken.None).ConfigureAwait(false);
                    }
                }
                catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or InvalidOperationException)
                {
                    // The connection failed while answering; the next read reports the close.
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

    /// <summary>
    /// What the control reader (<see cref="ConsumeIdleControlFrames"/>) leaves to do once the receive slot is released:
    /// a pong to send (a rented buffer) or a close to complete. Sends happen outside the slot because an application
    /// receive that starts meanwhile spins on it, which is only acceptable for work that never waits on the transport.
    /// </summary>
    private struct IdleControlWork
    {
        public byte[]? Ping;
        public int PingLength;
        public bool Closed;
    }

    /// <summary>
    /// The control reader: while the application is not reading (the caller holds the receive slot as
    /// <see cref="ReceiveByPeek"/>), lets the protocol consume the complete control frames at the head of
    /// <paramref name="data"/> (<see cref="WebSocketProtocol.ReceiveControlFrame"/>): pongs are only liveness, the most
    /// recent ping is kept for an answer (RFC 6455 §5.5.3 allows skipping older ones), and a close marks the connection
    /// closing at once, so a receive that starts next returns the close. A data frame stays for the application (reading
    /// it is the application's choice — that is backpressure), and an invalid frame for the receive loop, which fails
    /// the connection with the right code. Never waits. Returns how far input was consumed.
    /// </summary>
    private SequencePosition ConsumeIdleControlFrames(ReadOnlySequence<byte> data, ref IdleControlWork work)
    {
        // An event left by the last receive belongs to the receive loop. While an earlier background pong still waits for
        // the transport (a peer that pings but does not read), take nothing more: its pings then stay in the input and
        // TCP pushes back on it, instead of one pending pong piling up per tick.
        if (_pendingEvent != ProtocolEvent.NeedMoreData || Volatile.Read(ref _idlePongInFlight) != 0)
        {
            return data.Start;
        }

        var reader = new SequenceReader<byte>(data);
        while (true)
        {
            switch (_protocol.ReceiveControlFrame(ref reader))
            {
                case ProtocolEvent.Ping:
                    work.Ping ??= ArrayPool<byte>.Shared.Rent(125);
                    _protocol.ControlPayload.CopyTo(work.Ping);
                    work.PingLength = _protocol.ControlPayload.Length;
                    continue;

                case ProtocolEvent.Pong:
                    OnPongReceived(_protocol.ControlPayload); // liveness, and the round trip of our ping
                    continue; // liveness: the caller records the arrival

                case ProtocolEvent.Close:
                    work.Closed = true; // a ping before the close needs no answer
                    return reader.Position;

                default:
                    return reader.Position;
            }
        }
    }

    /// <summary>Sends what the control reader left to do, after the receive slot is released.</summary>
    private void CompleteIdleControlWork(ref IdleControlWork work)
    {
        byte[]? ping = work.Ping;
        work.Ping = null;
        if (work.Closed)
        {
            if (ping is not null)
            {
                ArrayPool<byte>.Shared.Return(ping);
            }

            _ = CloseReceivedInBackgroundAsync();
        }
        else if (ping is not null)
        {
            Volatile.Write(ref _idlePongInFlight, 1);
            _ = AnswerPingInBackgroundAsync(ping, work.PingLength);
        }
    }

    /// <summary>Answers a ping the control reader consumed; <paramref name="payload"/> is rented and returned here.</summary>
    private async Task AnswerPingInBackgroundAsync(byte[] payload, int length)
    {
        try
        {
            if (ReadyState == WebSocketReadyState.Open)
            {
                await SendControlFrameAsync(WebSocketOpcode.Pong, payload.AsMemory(0, length), CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or InvalidOperationException or ObjectDisposedException)
        {
            // The transport failed while answering; the connection is already terminated.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(payload);
            Volatile.Write(ref _idlePongInFlight, 0);
        }
    }

    /// <summary>Runs the peer's side of the close handshake for a close frame the control reader consumed.</summary>
    private async Task CloseReceivedInBackgroundAsync()
    {
        try
        {
            await OnCloseReceivedAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or InvalidOperationException or ObjectDisposedException)
        {
            // The transport failed while echoing the close; the connection is already terminated.
        }
    }
}
