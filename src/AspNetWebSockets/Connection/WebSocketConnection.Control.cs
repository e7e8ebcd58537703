using System.Buffers;
using System.IO.Pipelines;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets;

public sealed partial class WebSocketConnection
{
    /// <summary>
    /// Acts on the control frame the decoder just completed: answers pings, notes pongs, and runs the peer's
    /// side of the close handshake. Returns true when the connection is now closed.
    /// </summary>
    private async ValueTask<bool> HandleControlFrameAsync()
    {
        switch (_decoder.ControlOpcode)
        {
            case WebSocketOpcode.Pong:
                // Any inbound byte already counts as liveness; a pong to our ping also measures the round trip.
                OnPongReceived(_decoder.ControlPayload); // round-trip hook (issue 17)
                return false;

            case WebSocketOpcode.Ping:
            {
                // The decoder's buffer is reused by the next decode, so copy the payload out before awaiting.
                int length = _decoder.ControlPayload.Length;
                byte[] payload = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
                _decoder.ControlPayload.CopyTo(payload);
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
                CloseFrame.TryParse(_decoder.ControlPayload, out int code, out string reason);
                await OnCloseReceivedAsync(code, reason).ConfigureAwait(false);
                return true;
        }
    }

    /// <summary>
    /// What the control reader (<see cref="ConsumeIdleControlFrames"/>) leaves to do once the receive slot is released:
    /// a pong to send (a rented buffer) or a close to complete. Sends happen outside the slot because an application
    /// receive that starts meanwhile spins on it, which is only acceptable for work that never waits on the transport.
    /// </summary>
    // 1 while a pong sent by the control reader has not been handed to the transport yet.
    private int _idlePongInFlight;

    private struct IdleControlWork
    {
        public byte[]? Ping;
        public int PingLength;
        public bool Closed;
        public int CloseCode;
        public string? CloseReason;
    }

    /// <summary>
    /// The control reader: while the application is not reading (the caller holds the receive slot as
    /// <see cref="ReceiveByPeek"/>), consumes the complete control frames at the head of <paramref name="data"/> — pongs
    /// are only liveness, the most recent ping is kept for an answer (RFC 6455 §5.5.3 allows skipping older ones), and a
    /// close frame marks the connection closing at once, so a receive that starts next returns the close. It stops,
    /// consuming nothing of it, at the first byte that is not a complete, valid control frame: a data frame stays for the
    /// application (reading it is the application's choice — that is backpressure), and an invalid frame is left for the
    /// receive loop, which fails the connection with the right code. Never waits. Returns how far input was consumed.
    /// </summary>
    private SequencePosition ConsumeIdleControlFrames(ReadOnlySequence<byte> data, ref IdleControlWork work)
    {
        // Only at a frame boundary with nothing left over from the last receive: mid-frame the next byte is payload, a
        // pending control frame or violation belongs to the receive loop, and inflater-staged input is data the
        // application has not seen yet (acting on a close behind it would drop that data).
        //
        // While an earlier background pong still waits for the transport (a peer that pings but does not read), take
        // nothing more: its pings then stay in the input and TCP pushes back on it, instead of one pending pong piling
        // up per tick.
        if (_decoder.InFrame || _pendingStatus != DecodeStatus.NeedMoreData || _closeReceived || _inflater is { InMessage: true }
            || Volatile.Read(ref _idlePongInFlight) != 0)
        {
            return data.Start;
        }

        var reader = new SequenceReader<byte>(data);
        while (IsCompleteControlFrameAt(ref reader))
        {
            SequenceReader<byte> attempt = reader;
            DecodeStatus status = _decoder.Decode(ref attempt, Span<byte>.Empty, out _, out _, out _);
            if (status != DecodeStatus.Control)
            {
                // A close frame with an invalid code or reason: consume nothing of it. The decoder kept no state (a
                // control frame's header is read afresh), so the receive loop meets the same violation and fails it.
                break;
            }

            reader = attempt;
            switch (_decoder.ControlOpcode)
            {
                case WebSocketOpcode.Ping:
                    work.Ping ??= ArrayPool<byte>.Shared.Rent(125);
                    _decoder.ControlPayload.CopyTo(work.Ping);
                    work.PingLength = _decoder.ControlPayload.Length;
                    continue;

                case WebSocketOpcode.Pong:
                    OnPongReceived(_decoder.ControlPayload); // round-trip hook (issue 17)
                    continue; // liveness: the caller records the arrival

                default:
                    CloseFrame.TryParse(_decoder.ControlPayload, out work.CloseCode, out string reason);
                    work.CloseReason = reason;
                    work.Closed = true;

                    // Marked now, under the slot, so a receive that starts before the echo is sent already returns the
                    // close; OnCloseReceivedAsync sets the same again. A ping before the close needs no answer.
                    _closeReceived = true;
                    _peerClose = new WebSocketCloseInfo(work.CloseCode, reason, WasClean: true);
                    EnterClosing();
                    return reader.Position;
            }
        }

        return reader.Position;
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

            _ = CloseReceivedInBackgroundAsync(work.CloseCode, work.CloseReason ?? string.Empty);
        }
        else if (ping is not null)
        {
            Volatile.Write(ref _idlePongInFlight, 1);
            _ = AnswerPingInBackgroundAsync(ping, work.PingLength);
        }
    }

    /// <summary>
    /// Whether a whole control frame that the decoder can take without touching its data-message state is at the reader:
    /// a final, unreserved ping, pong or close of at most 125 bytes, masked as the role requires, all of it present.
    /// Anything else — a data frame above all — is not consumed.
    /// </summary>
    private bool IsCompleteControlFrameAt(ref SequenceReader<byte> reader)
    {
        if (!reader.TryPeek(0, out byte first) || !reader.TryPeek(1, out byte second))
        {
            return false;
        }

        var opcode = (WebSocketOpcode)(first & 0x0F);
        if ((first & 0xF0) != 0x80 || opcode is not (WebSocketOpcode.Ping or WebSocketOpcode.Pong or WebSocketOpcode.Close))
        {
            return false;
        }

        bool masked = (second & 0x80) != 0;
        int length = second & 0x7F;
        if (length > 125 || masked != (_role == WebSocketRole.Server))
        {
            return false;
        }

        return reader.Remaining >= 2 + (masked ? 4 : 0) + length;
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
    private async Task CloseReceivedInBackgroundAsync(int code, string reason)
    {
        try
        {
            await OnCloseReceivedAsync(code, reason).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or InvalidOperationException or ObjectDisposedException)
        {
            // The transport failed while echoing the close; the connection is already terminated.
        }
    }
}
