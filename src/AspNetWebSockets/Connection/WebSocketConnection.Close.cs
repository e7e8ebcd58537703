using System.Buffers;
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
        bool claimed = Engine.TryBeginClose(code, reason, out ReadOnlyMemory<byte> payload); // validates before anything is sent
        if (ReadyState == WebSocketReadyState.Closed)
        {
            return;
        }

        await SendCloseFrameAsync(claimed, payload).ConfigureAwait(false);
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
        bool claimed = Engine.TryBeginClose(code, reason, out ReadOnlyMemory<byte> payload);
        if (ReadyState != WebSocketReadyState.Closed)
        {
            await SendCloseFrameAsync(claimed, payload).ConfigureAwait(false);
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

    /// <summary>Sends our close frame if the protocol let this caller claim it (one close frame, RFC 6455 §5.5.1).</summary>
    private async ValueTask SendCloseFrameAsync(bool claimed, ReadOnlyMemory<byte> payload)
    {
        if (!claimed)
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
                Log.CloseTimeout(Logger, ConnectionId, (long)_settings.CloseTimeout.TotalMilliseconds);
            }

            Abort();
        }
    }

    /// <summary>The peer's close frame arrived (the protocol recorded it): echo it if we have not sent ours, then end the connection cleanly.</summary>
    private async ValueTask OnCloseReceivedAsync()
    {
        await SendCloseFrameAsync(Engine.TryBeginCloseEcho(out ReadOnlyMemory<byte> echo), echo).ConfigureAwait(false);
        Terminate(Engine.PeerClose!.Value, graceful: true);
    }

    /// <summary>Fails the connection (RFC 6455 §7.1.7): a close frame with the violation's code, then the transport is closed.</summary>
    private async ValueTask FailAsync(ProtocolViolation violation)
    {
        bool claimed = Engine.TryBeginFail(violation, out ReadOnlyMemory<byte> payload, out WebSocketCloseInfo failure);
        Log.ProtocolViolation(Logger, ConnectionId, failure.Reason, failure.Code);
        await SendCloseFrameAsync(claimed, payload).ConfigureAwait(false);
        _failed = true;
        Terminate(failure, graceful: true);
    }
}
