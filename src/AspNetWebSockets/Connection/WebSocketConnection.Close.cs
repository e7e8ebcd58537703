using System.Buffers;
using System.IO.Pipelines;
using System.Net.WebSockets;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets;

public sealed partial class WebSocketConnection
{
    /// <summary>
    /// Starts (or completes) the close handshake (RFC 6455 §7): sends a close frame with <paramref name="code"/> and
    /// <paramref name="reason"/>, then waits for the peer's close frame — discarding data that arrives meanwhile —
    /// for at most the close timeout, after which the connection is aborted and reported as 1006.
    /// If a receive is pending elsewhere, that receive sees the peer's close and this call just waits for it.
    /// </summary>
    /// <param name="code">A close code valid on the wire: 1000–1003, 1007–1014 or 3000–4999.</param>
    /// <param name="reason">At most 123 bytes of UTF-8.</param>
    /// <param name="cancellationToken">Stops waiting for the peer; the connection is then aborted.</param>
    /// <returns>A task that completes when the connection is closed.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The code may not be sent.</exception>
    /// <exception cref="ArgumentException">The reason is over 123 bytes of UTF-8 or not well-formed.</exception>
    public async Task CloseAsync(int code = WebSocketCloseCode.NormalClosure, string? reason = null, CancellationToken cancellationToken = default)
    {
        byte[] payload = new byte[CloseFrame.MaxReasonBytes + 2];
        int length = CloseFrame.Write(payload, code, reason); // validates before anything is sent
        if (ReadyState == WebSocketReadyState.Closed)
        {
            return;
        }

        await SendCloseFrameAsync(payload.AsMemory(0, length)).ConfigureAwait(false);
        await AwaitPeerCloseAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends a close frame and returns without waiting for the peer's (the <c>WebSocket.CloseOutputAsync</c> half of the
    /// handshake); keep receiving to see the peer's close. Validates as <see cref="CloseAsync"/> does.
    /// </summary>
    /// <param name="code">A close code valid on the wire.</param>
    /// <param name="reason">At most 123 bytes of UTF-8.</param>
    /// <returns>A task that completes when the close frame has been handed to the transport.</returns>
    public async Task CloseOutputAsync(int code = WebSocketCloseCode.NormalClosure, string? reason = null)
    {
        byte[] payload = new byte[CloseFrame.MaxReasonBytes + 2];
        int length = CloseFrame.Write(payload, code, reason);
        if (ReadyState != WebSocketReadyState.Closed)
        {
            await SendCloseFrameAsync(payload.AsMemory(0, length)).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Closes (see <see cref="CloseAsync"/>) on behalf of the server — shutdown, drain, lifetime or rate limits — and never
    /// throws: one misbehaving peer must not fail the caller; a close that cannot complete has already aborted.
    /// </summary>
    internal async Task CloseQuietlyAsync(int code, string reason)
    {
        try
        {
            await CloseAsync(code, reason).ConfigureAwait(false);
        }
        catch (Exception)
        {
            Abort();
        }
    }

    /// <summary>Sends our close frame once; later calls do nothing.</summary>
    private async ValueTask SendCloseFrameAsync(ReadOnlyMemory<byte> payload)
    {
        if (!_protocol.TryBeginClose())
        {
            return;
        }

        try
        {
            await SendControlFrameAsync(WebSocketOpcode.Close, payload, CancellationToken.None).ConfigureAwait(false);
        }
        catch (WebSocketException)
        {
            // The transport failed; the connection is already terminated as 1006.
        }
    }

    private async Task AwaitPeerCloseAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_settings.CloseTimeout);
        try
        {
            if (_receiveSlot.TryEnter())
            {
                // Nobody is reading: drain until the peer's close frame arrives.
                byte[] scratch = ArrayPool<byte>.Shared.Rent(4096);
                try
                {
                    while ((await ReceiveCoreAsync(scratch, timeout.Token).ConfigureAwait(false)).MessageType != WebSocketMessageType.Close)
                    {
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(scratch);
                    _receiveSlot.Exit();
                }
            }
            else
            {
                await _closed.Task.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            if (!cancellationToken.IsCancellationRequested)
            {
                Log.CloseTimeout(_logger, ConnectionId, (long)_settings.CloseTimeout.TotalMilliseconds);
            }

            Abort();
        }
    }

    /// <summary>The peer's close frame arrived (the protocol recorded it): echo it if we have not sent ours, then end the connection cleanly.</summary>
    private async ValueTask OnCloseReceivedAsync()
    {
        // Code and reason are echoed, as browsers, ws and websockets expect: a page that closes with close(4000, "bye")
        // then sees "bye" in its CloseEvent.
        byte[] payload = new byte[CloseFrame.MaxReasonBytes + 2];
        int length = _protocol.WriteCloseEcho(payload);
        await SendCloseFrameAsync(payload.AsMemory(0, length)).ConfigureAwait(false);
        Terminate(_protocol.PeerClose!.Value, graceful: true);
    }

    /// <summary>Fails the connection (RFC 6455 §7.1.7): a close frame with the violation's code, then the transport is closed.</summary>
    private async ValueTask FailAsync(ProtocolViolation violation)
    {
        int code = violation.ToCloseCode();
        string description = violation.Describe();
        Log.ProtocolViolation(_logger, ConnectionId, description, code);
        byte[] payload = new byte[CloseFrame.MaxReasonBytes + 2];
        int length = CloseFrame.Write(payload, code, null);
        await SendCloseFrameAsync(payload.AsMemory(0, length)).ConfigureAwait(false);
        _failed = true;
        Terminate(new WebSocketCloseInfo(code, description, WasClean: false), graceful: true);
    }

    /// <summary>
    /// After failing the connection, reads and discards what the peer is still sending — the rest of an oversized
    /// frame, its close echo — until it closes, falls quiet for a moment, or the close timeout passes. Closing with
    /// unread bytes would make the kernel send a reset, and the peer would lose our close frame and its code.
    /// Nothing read is parsed or kept, so this costs no memory however much the peer sends.
    /// </summary>
    private async Task DrainAfterFailureAsync()
    {
        TimeSpan quiet = TimeSpan.FromMilliseconds(Math.Min(250, _settings.CloseTimeout.TotalMilliseconds));
        long deadline = Environment.TickCount64 + (long)_settings.CloseTimeout.TotalMilliseconds;
        using var timer = new CancellationTokenSource();
        try
        {
            while (Environment.TickCount64 < deadline)
            {
                timer.CancelAfter(quiet);
                ReadResult read = await _input.ReadAsync(timer.Token).ConfigureAwait(false);
                _input.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted || read.IsCanceled || !timer.TryReset())
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            // Quiet, gone, or reset: either way there is nothing more to wait for.
        }
    }
}
