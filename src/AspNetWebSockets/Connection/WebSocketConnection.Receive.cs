using System.Buffers;
using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets;

public sealed partial class WebSocketConnection
{
    /// <summary>
    /// Receives messages until the connection closes. Each message is valid until the loop moves to the next
    /// one, when its pooled buffer is reused; the sequence ends when the close handshake completes or the
    /// connection fails (see <see cref="Closed"/>).
    /// </summary>
    /// <param name="cancellationToken">Stops waiting for the next message.</param>
    /// <returns>The messages, one at a time.</returns>
    public IAsyncEnumerable<WebSocketMessage> ReadAllAsync(CancellationToken cancellationToken = default) => new MessageReader(this, cancellationToken);

    /// <summary>Receives one whole message into a pooled buffer; dispose it when done. Returns null once the connection has closed.</summary>
    /// <param name="cancellationToken">Stops waiting; the connection stays usable.</param>
    /// <returns>The message, or null when the connection closed.</returns>
    public async ValueTask<WebSocketMessage?> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        var message = new WebSocketMessage();
        if (await ReceiveIntoAsync(message, cancellationToken).ConfigureAwait(false) && await AdmitAsync(message, cancellationToken).ConfigureAwait(false)) // rate limits
        {
            return message;
        }

        message.Dispose();
        return null;
    }

    /// <summary>
    /// Streaming receive: copies the next available part of the current message into <paramref name="buffer"/>.
    /// <see cref="ValueWebSocketReceiveResult.EndOfMessage"/> marks a message's last part; a result of type
    /// <see cref="WebSocketMessageType.Close"/> means the connection has closed (see <see cref="Closed"/>).
    /// </summary>
    /// <param name="buffer">Where to put payload bytes; must not be empty.</param>
    /// <param name="cancellationToken">Stops waiting; the connection stays usable.</param>
    /// <returns>How many bytes were written, the message type, and whether the message ended.</returns>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ValueWebSocketReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            throw new ArgumentException("The receive buffer must not be empty.", nameof(buffer));
        }

        ValueWebSocketReceiveResult result;
        _receiveSlot.Enter();
        try
        {
            result = await ReceiveCoreAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _receiveSlot.Exit();
        }

        // Rate limits count a streamed message once, at its end, with its whole length; checked after the receive slot is
        // released, because the Close policy's close handshake reads the peer's reply through it.
        return _rateLimit is not { } limit || await limit.AdmitPartAsync(this, result, cancellationToken).ConfigureAwait(false) ? result : CloseResult;
    }

    /// <summary>
    /// Receives one whole message into <paramref name="message"/>; false once the connection has closed. A message that is
    /// already complete in the input is decoded synchronously (see <see cref="InputDecoder"/>).
    /// </summary>
    private ValueTask<bool> ReceiveIntoAsync(WebSocketMessage message, CancellationToken cancellationToken)
    {
        _receiveSlot.Enter();
        bool handedOff = false;
        try
        {
            InputDecoder.Progress progress = TryReceiveNow(message, cancellationToken);
            if (progress == InputDecoder.Progress.Complete)
            {
                return new ValueTask<bool>(true);
            }

            handedOff = true;
            return ReceiveIntoSlowAsync(message, progress, inputChecked: false, cancellationToken);
        }
        finally
        {
            if (!handedOff)
            {
                _receiveSlot.Exit();
            }
        }
    }

    /// <summary>Decodes a message from what the input holds right now, without waiting (see <see cref="InputDecoder.TryReceive"/>).</summary>
    private InputDecoder.Progress TryReceiveNow(WebSocketMessage message, CancellationToken cancellationToken) =>
        // A token already cancelled takes the general path, which reports the cancellation as it always has.
        cancellationToken.IsCancellationRequested
            ? InputDecoder.Progress.NotStarted
            : _decoder.TryReceive(message, ref _keepAlive, ref _pendingEvent);

    /// <summary>
    /// After <see cref="TryReceiveNow"/> found no message: whether to wait for input before renting a receive buffer. Then
    /// the message holds no pooled buffer while it waits (idle connections cost no receive memory); it keeps it when the
    /// next message is already arriving, so a busy stream does not re-grow it every time.
    /// </summary>
    private bool WaitsForInput(WebSocketMessage message, InputDecoder.Progress progress)
    {
        // NoInput: the synchronous attempt has just found the input empty; no need to look again.
        if (progress == InputDecoder.Progress.Partial || (progress != InputDecoder.Progress.NoInput && _decoder.InputAvailable()))
        {
            return false;
        }

        message.ReleaseBuffer();
        return true;
    }

    /// <summary>
    /// After the wait for input: what arrived is usually a whole message, decoded from this very read with a buffer sized to
    /// it at once. Otherwise nothing is consumed or examined: the receive loop reads the same bytes.
    /// </summary>
    private InputDecoder.Progress DecodeArrived(WebSocketMessage message, in ReadResult ready, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested || !_decoder.CanDecode)
        {
            Input.AdvanceTo(ready.Buffer.Start);
            return InputDecoder.Progress.NotStarted;
        }

        return _decoder.Receive(message, ready, ref _keepAlive, ref _pendingEvent);
    }

    /// <summary>
    /// A failure of the wait for input is left for the receive loop, which reads again and reports it; a cancellation by
    /// the caller's token is the caller's.
    /// </summary>
    private static bool IsLeftForReceiveLoop(Exception e, CancellationToken cancellationToken) =>
        e is not OperationCanceledException || !cancellationToken.IsCancellationRequested;

    /// <summary>
    /// The rest of a receive that the synchronous attempt could not finish: the wait for input (unless
    /// <paramref name="inputChecked"/>: the caller waited already), then the receive loop. Releases the receive slot.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ReceiveIntoSlowAsync(WebSocketMessage message, InputDecoder.Progress progress, bool inputChecked, CancellationToken cancellationToken)
    {
        try
        {
            if (!inputChecked && WaitsForInput(message, progress))
            {
                // Awaited here rather than in a helper: a waiting receive then holds one suspended state machine fewer.
                progress = InputDecoder.Progress.NotStarted;
                try
                {
                    ReadResult ready = await ReadCorkedAsync(cancellationToken);
                    progress = DecodeArrived(message, ready, cancellationToken);
                }
                catch (Exception e) when (IsLeftForReceiveLoop(e, cancellationToken))
                {
                }
            }

            if (progress == InputDecoder.Progress.Complete)
            {
                return true;
            }

            if (progress != InputDecoder.Progress.Partial)
            {
                message.Reset();
            }

            while (true)
            {
                Memory<byte> free = message.GetFreeMemory(Engine.Limits.MaxMessageSize);
                if (free.IsEmpty)
                {
                    // Only reachable when MaxMessageSize exceeds what one array can hold.
                    await FailAsync(ProtocolViolation.MessageTooBig).ConfigureAwait(false);
                    return false;
                }

                ValueWebSocketReceiveResult result = await ReceiveCoreAsync(free, cancellationToken).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return false;
                }

                message.Type = result.MessageType;
                message.Advance(result.Count);
                if (result.EndOfMessage)
                {
                    return true;
                }
            }
        }
        finally
        {
            _receiveSlot.Exit();
        }
    }

    /// <summary>The receive loop: read, decode, answer control frames, and return the first data chunk or the close.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ValueWebSocketReceiveResult> ReceiveCoreAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            // An event the synchronous receive left comes first: it may be the peer's close, which is still to be answered.
            ProtocolEvent received = _pendingEvent;
            _pendingEvent = ProtocolEvent.NeedMoreData;
            int written = 0;
            bool endOfMessage = false;
            if (received == ProtocolEvent.NeedMoreData)
            {
                if (Engine.CloseReceived || ReadyState == WebSocketReadyState.Closed)
                {
                    return CloseResult;
                }

                // An extension may hold decoded output from input already consumed: deliver it before reading on.
                if (Engine.HasPendingOutput)
                {
                    var nothing = new SequenceReader<byte>(ReadOnlySequence<byte>.Empty);
                    received = Engine.Receive(ref nothing, buffer.Span, out written, out endOfMessage);
                }
            }

            if (received == ProtocolEvent.NeedMoreData)
            {
                ReadResult read;
                try
                {
                    read = await ReadCorkedAsync(cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }
                catch (Exception e) when (e is not OperationCanceledException || ReadyState == WebSocketReadyState.Closed)
                {
                    // Reset, aborted, or disposed under us: the peer is gone without a close frame.
                    TransportFailed(e);
                    return CloseResult;
                }

                if (read.IsCanceled || ReadyState == WebSocketReadyState.Closed)
                {
                    Input.AdvanceTo(read.Buffer.Start);
                    return CloseResult;
                }

                received = _decoder.Decode(read, buffer.Span, ref _keepAlive, out written, out endOfMessage);
                if (received == ProtocolEvent.NeedMoreData)
                {
                    if (!read.IsCompleted)
                    {
                        continue;
                    }

                    // End of stream without a close frame: the browser calls this 1006.
                    Terminate(AbnormalClosure, graceful: false);
                    return CloseResult;
                }
            }

            if (received == ProtocolEvent.Data)
            {
                Metrics?.Received(written, endOfMessage);
                return new ValueWebSocketReceiveResult(written, Engine.MessageType, endOfMessage);
            }

            if (received == ProtocolEvent.Violation)
            {
                await FailAsync(Engine.Violation).ConfigureAwait(false);
                return CloseResult;
            }

            if (await HandleControlFrameAsync(received).ConfigureAwait(false))
            {
                return CloseResult;
            }
        }
    }
}
