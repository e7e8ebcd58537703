using System.Diagnostics.CodeAnalysis;
using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using AspNetWebSockets.Diagnostics;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets;

/// <summary>
/// A connection's send side: serializes frames onto the output (see <see cref="SendLocks"/>: whole messages never
/// interleave, control frames slip between a streamed message's fragments), keeps <see cref="BufferedAmount"/> and the
/// slow-consumer limit, lets an open cork defer flushes (see <see cref="OutputCork"/>), and maps transport failures to
/// the connection's failure path. Its own type so the send machinery has one owner; it reaches back to the connection
/// only to report a failed transport or to drop a slow consumer.
/// </summary>
internal sealed class FrameSender
{
    private readonly WebSocketConnection _connection;
    private readonly WebSocketProtocol _protocol;
    private readonly PipeWriter _output;
    // The metrics, the slow-consumer limit and the logger are read through the connection's shared settings (Settings)
    // rather than copied here: two references less per connection.

    // Two locks in one state word (see SendLocks): the message lock is held for a whole data message (all fragments of a
    // streamed one) so messages never interleave; the write lock is held while one frame is written and flushed. A mutable
    // struct held inline (never readonly, never copied), whose gate is a monitor on this object: nothing else locks it.
    private SendLocks _locks;
    private long _bufferedAmount;

    // Whether flushes wait for a cork's end (a mutable struct: never readonly, never copied).
    private OutputCork _cork;

    public FrameSender(WebSocketConnection connection, WebSocketProtocol protocol, PipeWriter output)
    {
        _connection = connection;
        _protocol = protocol;
        _output = output;
    }

    private WebSocketConnectionSettings Settings => _connection.Settings;

    /// <summary>A send's wait for a lock was cancelled: removes it from the queue unless the lock was already handed to it.</summary>
    internal void CancelSendLockWait(SendLocks.Waiter waiter, CancellationToken token) => _locks.Cancel(waiter, token);

    /// <summary>Whether corked sends wrote bytes whose flush waits for the cork's end.</summary>
    public bool CorkFlushPending => _cork.FlushPending;

    /// <summary>Whether the connection is open: data may still be sent.</summary>
    public bool IsOpen => _protocol.State == WebSocketReadyState.Open;

    /// <summary>Bytes of payload accepted by sends that have not yet been handed to the transport.</summary>
    public long BufferedAmount => Interlocked.Read(ref _bufferedAmount);

    /// <summary>
    /// Sends a whole message as one frame: takes the message and write locks, writes, flushes, and keeps
    /// <see cref="BufferedAmount"/> and the metrics. With <paramref name="encode"/>, the negotiated extension may transform
    /// the payload first (permessage-deflate compresses it, RFC 7692 §7.2.1), under the message lock only, so control frames
    /// are not held up behind it.
    /// </summary>
    /// <remarks>
    /// When nobody else is sending (the common case: one handler echoing) both locks are free and the flush completes
    /// synchronously, so a plain send finishes without an async state machine, taking and releasing both locks with one
    /// compare-exchange each; otherwise it falls back to waiting in turn. Such a send hands its bytes to the transport
    /// before it returns, so it leaves <see cref="BufferedAmount"/> alone (two interlocked operations less per message)
    /// unless its flush has to wait.
    /// </remarks>
    public ValueTask SendMessageAsync(in OutgoingFrame frame, bool encode, CancellationToken cancellationToken)
    {
        ThrowIfNotOpen();
        long length = frame.PayloadLength;
        if (encode || !WithinLimit(length) || !_locks.TryEnterBoth())
        {
            Reserve(length);
            return SendMessageInTurnAsync(frame, encode, cancellationToken);
        }

        ValueTask flush;
        try
        {
            ThrowIfNotOpen(); // checked again under the lock: a close frame may have gone out, and nothing may follow it
            frame.WriteTo(_output, _protocol);
            flush = FlushAsync(cancellationToken);
        }
        catch
        {
            _locks.ExitBoth(this);
            throw;
        }

        if (!flush.IsCompletedSuccessfully)
        {
            Interlocked.Add(ref _bufferedAmount, length); // until the transport takes the bytes
            return CompleteMessageAsync(flush, length);
        }

        Settings.Metrics?.Sent(length, endOfMessage: true);
        _locks.ExitBoth(this);
        return default;
    }

    /// <summary>Writes one data fragment of a streamed message (the caller holds the message lock, see <see cref="BeginMessageAsync"/>).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SendFragmentAsync(WebSocketOpcode opcode, bool fin, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        ThrowIfNotOpen();
        Reserve(payload.Length);
        try
        {
            await WriteFrameAsync(OutgoingFrame.ForPayload(opcode, payload, fin), requireOpen: true, cancellationToken).ConfigureAwait(false);
            Settings.Metrics?.Sent(payload.Length, endOfMessage: fin);
        }
        finally
        {
            Interlocked.Add(ref _bufferedAmount, -payload.Length);
        }
    }

    /// <summary>Writes a ping, pong or close frame, without waiting for a streamed message to finish; after the close, nothing.</summary>
    public ValueTask SendControlAsync(WebSocketOpcode opcode, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        WriteFrameAsync(OutgoingFrame.ForPayload(opcode, payload), requireOpen: false, cancellationToken);

    /// <summary>
    /// Awaits a send nobody waits for — a pong, a keep-alive ping, the close echo — and swallows the failures that mean
    /// the transport failed under it: the connection is already terminated, and the next read reports the close.
    /// </summary>
    public static async ValueTask InBackgroundAsync(ValueTask send)
    {
        try
        {
            await send.ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or InvalidOperationException or ObjectDisposedException)
        {
            // See above: nothing left to do.
        }
    }

    /// <summary>Takes the message lock for a streamed message; release it with <see cref="EndMessage"/>.</summary>
    public ValueTask BeginMessageAsync(CancellationToken cancellationToken)
    {
        ThrowIfNotOpen();
        return _locks.EnterAsync(SendLocks.Message, this, cancellationToken);
    }

    /// <summary>Releases the message lock taken by <see cref="BeginMessageAsync"/>.</summary>
    public void EndMessage() => _locks.Exit(SendLocks.Message, this);

    /// <summary>Starts a cork on this thread; true if this call owns it (see <see cref="OutputCork.TryBegin"/>).</summary>
    public bool TryBeginCork() => _cork.TryBegin();

    /// <summary>Ends the cork this thread owns, flushing what the corked sends wrote.</summary>
    public void EndCork()
    {
        if (_cork.End())
        {
            FlushCorked();
        }
    }

    /// <summary>
    /// The flush at a cork's end. If another send holds the write lock, it flushes after its own write and takes these bytes
    /// with it; otherwise this flush holds the write lock until the transport took the bytes, so back-pressure still
    /// reaches the next sender.
    /// </summary>
    public void FlushCorked()
    {
        if (!_locks.TryEnter(SendLocks.Write))
        {
            return;
        }

        ValueTask flush;
        try
        {
            flush = FlushOutputAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _locks.Exit(SendLocks.Write, this); // the failure path has already closed the connection
            return;
        }

        if (flush.IsCompletedSuccessfully)
        {
            _locks.Exit(SendLocks.Write, this);
        }
        else
        {
            _ = CompleteCorkedFlushAsync(flush);
        }
    }

    private async Task CompleteCorkedFlushAsync(ValueTask flush)
    {
        try
        {
            await flush.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The failure path has already closed the connection; the senders see it on their next send.
        }
        finally
        {
            _locks.Exit(SendLocks.Write, this);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask CompleteMessageAsync(ValueTask flush, long payloadLength)
    {
        try
        {
            await flush.ConfigureAwait(false);
            Settings.Metrics?.Sent(payloadLength, endOfMessage: true);
        }
        finally
        {
            _locks.ExitBoth(this);
            Interlocked.Add(ref _bufferedAmount, -payloadLength);
        }
    }

    /// <summary>A whole message that waits its turn for the locks, or goes through the extension; its bytes are already reserved.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendMessageInTurnAsync(OutgoingFrame frame, bool encode, CancellationToken cancellationToken)
    {
        try
        {
            await _locks.EnterAsync(SendLocks.Message, this, cancellationToken).ConfigureAwait(false);
            try
            {
                await (encode ? WriteEncodedAsync(frame, cancellationToken) : WriteFrameAsync(frame, requireOpen: true, cancellationToken)).ConfigureAwait(false);
                Settings.Metrics?.Sent(frame.PayloadLength, endOfMessage: true);
            }
            finally
            {
                _locks.Exit(SendLocks.Message, this);
            }
        }
        finally
        {
            Interlocked.Add(ref _bufferedAmount, -frame.PayloadLength);
        }
    }

    /// <summary>
    /// Lets the extension encode a whole message and writes it as one frame with the extension's RSV bits, or as it is when
    /// the extension declines (a message below its size threshold). The caller holds the message lock.
    /// </summary>
    private async ValueTask WriteEncodedAsync(OutgoingFrame frame, CancellationToken cancellationToken)
    {
        try
        {
            bool encoded;
            ReadOnlyMemory<byte> bytes;
            try
            {
                encoded = _protocol.TryEncode(frame.PayloadBytes.Span, out bytes);
            }
            catch (ObjectDisposedException)
            {
                ThrowIfNotOpen(); // torn down meanwhile: report it as the state it is
                throw;
            }

            if (encoded)
            {
                Settings.Metrics?.Compressed(frame.PayloadLength, bytes.Length);
                frame = OutgoingFrame.ForPayload(frame.Opcode, bytes, fin: true, _protocol.ExtensionBits);
            }

            await WriteFrameAsync(frame, requireOpen: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Return the pooled buffer after every message so idle connections hold none.
            _protocol.ReleaseEncoded();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteFrameAsync(OutgoingFrame frame, bool requireOpen, CancellationToken cancellationToken)
    {
        await _locks.EnterAsync(SendLocks.Write, this, cancellationToken).ConfigureAwait(false);
        try
        {
            // Checked again under the lock: a close frame may have gone out while we waited, and nothing may follow it.
            if (requireOpen)
            {
                ThrowIfNotOpen();
            }
            else if (_protocol.State == WebSocketReadyState.Closed)
            {
                return;
            }

            frame.WriteTo(_output, _protocol);

            // A ping or a close waits for the peer's answer, so it is never corked (with any corked bytes before it): a
            // handler that blocks on that answer would otherwise wait for its own cork.
            await (frame.AwaitsAnswer ? FlushOutputAsync(cancellationToken) : FlushAsync(cancellationToken)).ConfigureAwait(false);
        }
        finally
        {
            _locks.Exit(SendLocks.Write, this);
        }
    }

    /// <summary>
    /// Flushes what a send wrote (the caller holds the write lock), unless a cork on this thread defers it to the cork's
    /// end (see <see cref="OutputCork"/>).
    /// </summary>
    private ValueTask FlushAsync(CancellationToken cancellationToken) =>
        _cork.TryDefer(_output, this) ? default : FlushOutputAsync(cancellationToken);

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
            throw _connection.TransportFailed(e);
        }

        if (!flush.IsCompletedSuccessfully)
        {
            return AwaitFlushAsync(flush, cancellationToken);
        }

        if (flush.Result.IsCompleted)
        {
            throw _connection.TransportFailed(new IOException("The transport was closed."));
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
            throw _connection.TransportFailed(e);
        }

        if (result.IsCompleted)
        {
            throw _connection.TransportFailed(new IOException("The transport was closed."));
        }
    }

    /// <summary>Whether a send of <paramref name="count"/> bytes now leaves the slow-consumer limit alone (see <see cref="Reserve"/>).</summary>
    private bool WithinLimit(long count)
    {
        WebSocketConnectionSettings settings = Settings;
        return settings.SlowConsumerPolicy != WebSocketSlowConsumerPolicy.Drop || Interlocked.Read(ref _bufferedAmount) + count <= settings.MaxBufferedAmount;
    }

    /// <summary>
    /// Counts a send's bytes into <see cref="BufferedAmount"/>. Under <see cref="WebSocketSlowConsumerPolicy.Drop"/>, a send
    /// that would take it over the limit drops the connection instead (1008): the peer is not reading, and waiting
    /// would hold the sender and the memory.
    /// </summary>
    private void Reserve(long count)
    {
        long buffered = Interlocked.Add(ref _bufferedAmount, count);
        WebSocketConnectionSettings settings = Settings;
        if (buffered <= settings.MaxBufferedAmount || settings.SlowConsumerPolicy != WebSocketSlowConsumerPolicy.Drop)
        {
            return;
        }

        Interlocked.Add(ref _bufferedAmount, -count);
        Log.SlowConsumerDropped(settings.Logger, _connection.ConnectionId, buffered, settings.MaxBufferedAmount);
        _connection.TerminateSlowConsumer(WebSocketCloseCode.PolicyViolation, "slow consumer");
        throw new WebSocketException(WebSocketError.InvalidState, "The peer is not reading fast enough; the connection was dropped (MaxBufferedAmount).");
    }

    private void ThrowIfNotOpen()
    {
        WebSocketReadyState state = _protocol.State;
        if (state != WebSocketReadyState.Open)
        {
            ThrowNotOpen(state); // a call of its own, so this check inlines into every send
        }
    }

    [DoesNotReturn]
    private static void ThrowNotOpen(WebSocketReadyState state) =>
        throw new WebSocketException(WebSocketError.InvalidState, $"The WebSocket is {state}; no more messages can be sent.");
}
