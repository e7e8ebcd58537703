using System.Buffers;
using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets;

public sealed partial class WebSocketConnection
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Sends a text message.</summary>
    /// <param name="text">The text; it must be well-formed UTF-16 (no lone surrogates).</param>
    /// <param name="cancellationToken">Stops waiting for the send.</param>
    /// <returns>A task that completes when the message has been handed to the transport.</returns>
    /// <exception cref="ArgumentException">The text contains a lone surrogate.</exception>
    public async ValueTask SendTextAsync(string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        int byteCount;
        try
        {
            byteCount = StrictUtf8.GetByteCount(text);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException("The text is not well-formed UTF-16 (lone surrogate).", nameof(text), e);
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(byteCount, 1));
        try
        {
            int length = StrictUtf8.GetBytes(text, buffer);
            await SendMessageAsync(WebSocketOpcode.Text, buffer.AsMemory(0, length), compress: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Sends a text message that is already UTF-8.</summary>
    /// <param name="utf8">The UTF-8 bytes; they are validated.</param>
    /// <param name="cancellationToken">Stops waiting for the send.</param>
    /// <returns>A task that completes when the message has been handed to the transport.</returns>
    /// <exception cref="ArgumentException">The bytes are not valid UTF-8.</exception>
    public ValueTask SendTextAsync(ReadOnlyMemory<byte> utf8, CancellationToken cancellationToken = default)
    {
        if (!System.Text.Unicode.Utf8.IsValid(utf8.Span))
        {
            throw new ArgumentException("Text messages must be valid UTF-8.", nameof(utf8));
        }

        return SendMessageAsync(WebSocketOpcode.Text, utf8, compress: true, cancellationToken);
    }

    /// <summary>Sends a binary message.</summary>
    /// <param name="data">The payload.</param>
    /// <param name="cancellationToken">Stops waiting for the send.</param>
    /// <returns>A task that completes when the message has been handed to the transport.</returns>
    public ValueTask SendBinaryAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        SendMessageAsync(WebSocketOpcode.Binary, data, compress: true, cancellationToken);

    /// <summary>Sends a binary message whose payload is a (possibly multi-segment) sequence, as one frame (multi-segment payloads are sent uncompressed).</summary>
    /// <param name="data">The payload.</param>
    /// <param name="cancellationToken">Stops waiting for the send.</param>
    /// <returns>A task that completes when the message has been handed to the transport.</returns>
    public ValueTask SendBinaryAsync(ReadOnlySequence<byte> data, CancellationToken cancellationToken = default) =>
        data.IsSingleSegment
            ? SendBinaryAsync(data.First, cancellationToken)
            : SendWholeFrameAsync(OutgoingFrame.ForSequence(WebSocketOpcode.Binary, data), cancellationToken);

    /// <summary>Sends a message of the given type: echo a received message with <c>SendAsync(message.Data, message.Type)</c>.</summary>
    /// <param name="data">The payload (valid UTF-8 for text).</param>
    /// <param name="messageType">Text or binary.</param>
    /// <param name="cancellationToken">Stops waiting for the send.</param>
    /// <returns>A task that completes when the message has been handed to the transport.</returns>
    public ValueTask SendAsync(ReadOnlyMemory<byte> data, WebSocketMessageType messageType, CancellationToken cancellationToken = default) =>
        SendAsync(data, messageType, compress: true, cancellationToken);

    /// <summary>
    /// Sends a message of the given type, choosing per message whether permessage-deflate may compress it. Pass false for
    /// data that is already compressed, and for messages that mix secrets with attacker-influenced text (CRIME/BREACH).
    /// </summary>
    /// <param name="data">The payload (valid UTF-8 for text).</param>
    /// <param name="messageType">Text or binary.</param>
    /// <param name="compress">Whether to compress when compression was negotiated and the message is at least <see cref="WebSocketCompressionOptions.MinMessageSize"/> bytes.</param>
    /// <param name="cancellationToken">Stops waiting for the send.</param>
    /// <returns>A task that completes when the message has been handed to the transport.</returns>
    public ValueTask SendAsync(ReadOnlyMemory<byte> data, WebSocketMessageType messageType, bool compress, CancellationToken cancellationToken = default)
    {
        switch (messageType)
        {
            case WebSocketMessageType.Text:
                if (!System.Text.Unicode.Utf8.IsValid(data.Span))
                {
                    throw new ArgumentException("Text messages must be valid UTF-8.", nameof(data));
                }

                return SendMessageAsync(WebSocketOpcode.Text, data, compress, cancellationToken);
            case WebSocketMessageType.Binary:
                return SendMessageAsync(WebSocketOpcode.Binary, data, compress, cancellationToken);
            default:
                throw new ArgumentOutOfRangeException(nameof(messageType), messageType, "Use CloseAsync to send a close frame.");
        }
    }

    /// <summary>
    /// Starts a streamed (fragmented) message for payloads too large to hold at once. Other messages wait until
    /// it completes; control frames do not. Dispose the writer to finish the message.
    /// </summary>
    /// <param name="messageType">Text or binary.</param>
    /// <param name="cancellationToken">Stops waiting for the message slot.</param>
    /// <returns>A writer that sends each chunk as a fragment.</returns>
    public async ValueTask<WebSocketMessageWriter> BeginMessageAsync(WebSocketMessageType messageType, CancellationToken cancellationToken = default)
    {
        if (messageType is not (WebSocketMessageType.Text or WebSocketMessageType.Binary))
        {
            throw new ArgumentOutOfRangeException(nameof(messageType), messageType, "A streamed message is text or binary.");
        }

        ThrowIfNotOpen();
        await _sendLocks.EnterAsync(SendLocks.Message, cancellationToken).ConfigureAwait(false);
        return new WebSocketMessageWriter(this, messageType);
    }

    /// <summary>Releases the message slot taken by <see cref="BeginMessageAsync"/>.</summary>
    internal void EndMessage() => _sendLocks.Exit(SendLocks.Message);

    private ValueTask SendMessageAsync(WebSocketOpcode opcode, ReadOnlyMemory<byte> payload, bool compress, CancellationToken cancellationToken) =>
        _protocol.Extension is not null && compress
            ? SendEncodedMessageAsync(opcode, payload, cancellationToken)
            : SendWholeFrameAsync(OutgoingFrame.ForPayload(opcode, payload), cancellationToken);

    /// <summary>
    /// Sends a whole message as one frame: takes the message and write locks, writes, flushes, and keeps
    /// <see cref="BufferedAmount"/> and the metrics. Every whole-message send that needs no compression goes through here.
    /// </summary>
    /// <remarks>
    /// When nobody else is sending (the common case: one handler echoing) both locks are free and the flush completes
    /// synchronously, so the send finishes without an async state machine, taking and releasing both locks with one
    /// compare-exchange each; otherwise it falls back to waiting in turn.
    /// </remarks>
    private ValueTask SendWholeFrameAsync(in OutgoingFrame frame, CancellationToken cancellationToken)
    {
        ThrowIfNotOpen();
        long length = frame.PayloadLength;
        ReserveBuffered(length);
        if (_sendLocks.TryEnterBoth())
        {
            ValueTask flush;
            try
            {
                ThrowIfNotOpen(); // checked again under the lock: a close frame may have gone out, and nothing may follow it
                frame.WriteTo(_output, _protocol);
                flush = FlushAsync(cancellationToken);
            }
            catch
            {
                ReleaseWholeFrame(length);
                throw;
            }

            if (!flush.IsCompletedSuccessfully)
            {
                return CompleteWholeFrameAsync(flush, length);
            }

            _metrics?.Sent(length, endOfMessage: true);
            ReleaseWholeFrame(length);
            return default;
        }

        return SendWholeFrameSlowAsync(frame, cancellationToken);
    }

    private void ReleaseWholeFrame(long payloadLength)
    {
        _sendLocks.ExitBoth();
        Interlocked.Add(ref _bufferedAmount, -payloadLength);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask CompleteWholeFrameAsync(ValueTask flush, long payloadLength)
    {
        try
        {
            await flush.ConfigureAwait(false);
            _metrics?.Sent(payloadLength, endOfMessage: true);
        }
        finally
        {
            ReleaseWholeFrame(payloadLength);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendWholeFrameSlowAsync(OutgoingFrame frame, CancellationToken cancellationToken)
    {
        try
        {
            await _sendLocks.EnterAsync(SendLocks.Message, cancellationToken).ConfigureAwait(false);
            try
            {
                await _sendLocks.EnterAsync(SendLocks.Write, cancellationToken).ConfigureAwait(false);
                try
                {
                    ThrowIfNotOpen();
                    frame.WriteTo(_output, _protocol);
                    await FlushAsync(cancellationToken).ConfigureAwait(false);
                    _metrics?.Sent(frame.PayloadLength, endOfMessage: true);
                }
                finally
                {
                    _sendLocks.Exit(SendLocks.Write);
                }
            }
            finally
            {
                _sendLocks.Exit(SendLocks.Message);
            }
        }
        finally
        {
            Interlocked.Add(ref _bufferedAmount, -frame.PayloadLength);
        }
    }

    /// <summary>
    /// Sends a whole message through the negotiated extension (permessage-deflate compresses it, RFC 7692 §7.2.1) as one
    /// frame with the extension's RSV bits, or as it is when the extension declines (a message below its size threshold).
    /// Encoding happens under the message lock only, so control frames are not held up behind it.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendEncodedMessageAsync(WebSocketOpcode opcode, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        ThrowIfNotOpen();
        ReserveBuffered(payload.Length);
        try
        {
            await _sendLocks.EnterAsync(SendLocks.Message, cancellationToken).ConfigureAwait(false);
            try
            {
                await SendEncodedAsync(opcode, payload, cancellationToken).ConfigureAwait(false);
                _metrics?.Sent(payload.Length, endOfMessage: true);
            }
            finally
            {
                _sendLocks.Exit(SendLocks.Message);
            }
        }
        finally
        {
            Interlocked.Add(ref _bufferedAmount, -payload.Length);
        }
    }

    /// <summary>Encodes and writes a whole message; the caller holds the message lock.</summary>
    private async ValueTask SendEncodedAsync(WebSocketOpcode opcode, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        try
        {
            bool encoded;
            ReadOnlyMemory<byte> bytes;
            try
            {
                encoded = _protocol.TryEncode(payload.Span, out bytes);
            }
            catch (ObjectDisposedException)
            {
                ThrowIfNotOpen(); // torn down meanwhile: report it as the state it is
                throw;
            }

            if (encoded)
            {
                _metrics?.Compressed(payload.Length, bytes.Length);
                await WriteFrameAsync(opcode, fin: true, _protocol.ExtensionBits, bytes, requireOpen: true, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await WriteFrameAsync(opcode, fin: true, 0, payload, requireOpen: true, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            // Return the pooled buffer after every message so idle connections hold none.
            _protocol.ReleaseEncoded();
        }
    }

    /// <summary>Writes one data fragment of a streamed message (the writer holds the message slot).</summary>
    internal async ValueTask SendFragmentAsync(WebSocketOpcode opcode, bool fin, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        ThrowIfNotOpen();
        ReserveBuffered(payload.Length);
        try
        {
            await WriteFrameAsync(opcode, fin, 0, payload, requireOpen: true, cancellationToken).ConfigureAwait(false);
            _metrics?.Sent(payload.Length, endOfMessage: fin);
        }
        finally
        {
            Interlocked.Add(ref _bufferedAmount, -payload.Length);
        }
    }

    /// <summary>Writes a ping, pong or close frame, without waiting for a streamed message to finish.</summary>
    private ValueTask SendControlFrameAsync(WebSocketOpcode opcode, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        WriteFrameAsync(opcode, fin: true, 0, payload, requireOpen: false, cancellationToken);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteFrameAsync(WebSocketOpcode opcode, bool fin, byte reservedBits, ReadOnlyMemory<byte> payload, bool requireOpen, CancellationToken cancellationToken)
    {
        await _sendLocks.EnterAsync(SendLocks.Write, cancellationToken).ConfigureAwait(false);
        try
        {
            // Checked again under the lock: a close frame may have gone out while we waited, and nothing may follow it.
            if (requireOpen)
            {
                ThrowIfNotOpen();
            }
            else if (ReadyState == WebSocketReadyState.Closed)
            {
                return;
            }

            _protocol.WriteFrame(_output, opcode, fin, reservedBits, payload.Span);

            // A ping or a close waits for the peer's answer, so it is never corked (with any corked bytes before it): a
            // handler that blocks on that answer would otherwise wait for its own cork.
            await (opcode is WebSocketOpcode.Ping or WebSocketOpcode.Close ? FlushOutputAsync(cancellationToken) : FlushAsync(cancellationToken)).ConfigureAwait(false);
        }
        finally
        {
            _sendLocks.Exit(SendLocks.Write);
        }
    }

    /// <summary>
    /// Flushes what a send wrote (the caller holds the write lock), unless a cork on this thread defers it to the cork's
    /// end (see <see cref="Cork"/>).
    /// </summary>
    private ValueTask FlushAsync(CancellationToken cancellationToken) =>
        _cork.TryDefer(_output) ? default : FlushOutputAsync(cancellationToken);

    /// <summary>
    /// Flushes the output, mapping transport failures to the connection's failure path. A flush that completes at once
    /// (the usual case: the transport takes the bytes without back-pressure) returns without an async state machine.
    /// </summary>
    private ValueTask FlushOutputAsync(CancellationToken cancellationToken)
    {
        _cork.Flushing();
        ValueTask<FlushResult> flush;
        try
        {
            flush = _output.FlushAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw TransportFailed(e);
        }

        if (!flush.IsCompletedSuccessfully)
        {
            return AwaitFlushAsync(flush, cancellationToken);
        }

        if (flush.Result.IsCompleted)
        {
            throw TransportFailed(new IOException("The transport was closed."));
        }

        return default;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask AwaitFlushAsync(ValueTask<FlushResult> flush, CancellationToken cancellationToken)
    {
        FlushResult result;
        try
        {
            result = await flush.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            throw TransportFailed(e);
        }

        if (result.IsCompleted)
        {
            throw TransportFailed(new IOException("The transport was closed."));
        }
    }

    /// <summary>
    /// Counts a send's bytes into <see cref="BufferedAmount"/>. Under <see cref="WebSocketSlowConsumerPolicy.Drop"/>, a send
    /// that would take it over the limit drops the connection instead (1008): the peer is not reading, and waiting
    /// would hold the sender and the memory.
    /// </summary>
    private void ReserveBuffered(long count)
    {
        long buffered = Interlocked.Add(ref _bufferedAmount, count);
        if (buffered <= _settings.MaxBufferedAmount || _settings.SlowConsumerPolicy != WebSocketSlowConsumerPolicy.Drop)
        {
            return;
        }

        Interlocked.Add(ref _bufferedAmount, -count);
        Log.SlowConsumerDropped(_logger, ConnectionId, buffered, _settings.MaxBufferedAmount);
        Terminate(new WebSocketCloseInfo(WebSocketCloseCode.PolicyViolation, "slow consumer", WasClean: false), graceful: false);
        throw new WebSocketException(WebSocketError.InvalidState, "The peer is not reading fast enough; the connection was dropped (MaxBufferedAmount).");
    }

    private void ThrowIfNotOpen()
    {
        if (ReadyState != WebSocketReadyState.Open)
        {
            throw new WebSocketException(WebSocketError.InvalidState, $"The WebSocket is {ReadyState}; no more messages can be sent.");
        }
    }
}
