using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text;
using AspNetWebSockets.Compression;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets;

public sealed partial class WebSocketConnection
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    // Two locks in one state word (see SendLocks): the message lock is held for a whole data message (all fragments of a
    // streamed one) so messages never interleave; the write lock is held while one frame is written and flushed. Control
    // frames take only the write lock, so they can slip between the fragments of a streamed message.
    private readonly SendLocks _sendLocks = new();

    private long _bufferedAmount;

    // permessage-deflate send state, used only under the message lock.
    private readonly MessageDeflater? _deflater;
    private readonly int _minCompressedSize;
    private readonly PooledBufferWriter? _compressed;

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
        _deflater is not null && compress && payload.Length >= _minCompressedSize
            ? SendCompressedMessageAsync(opcode, payload, cancellationToken)
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
                frame.WriteTo(_output, _role);
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
                    frame.WriteTo(_output, _role);
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

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendCompressedMessageAsync(WebSocketOpcode opcode, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        ThrowIfNotOpen();
        ReserveBuffered(payload.Length);
        try
        {
            await _sendLocks.EnterAsync(SendLocks.Message, cancellationToken).ConfigureAwait(false);
            try
            {
                await SendCompressedAsync(opcode, payload, cancellationToken).ConfigureAwait(false);
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

    /// <summary>Compresses a whole message (RFC 7692 §7.2.1) and sends it as one frame with RSV1; the caller holds the message lock.</summary>
    private async ValueTask SendCompressedAsync(WebSocketOpcode opcode, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        try
        {
            try
            {
                _deflater!.Compress(payload.Span, _compressed!);
            }
            catch (ObjectDisposedException)
            {
                ThrowIfNotOpen(); // torn down meanwhile: report it as the state it is
                throw;
            }

            _metrics?.Compressed(payload.Length, _compressed!.WrittenCount);
            await WriteFrameAsync(opcode, fin: true, ReservedBit.Rsv1, _compressed!.WrittenMemory, requireOpen: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Return the pooled buffer after every message so idle connections hold none.
            _compressed!.Dispose();
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

            FrameWriter.WriteFrame(_output, _role, opcode, fin, reservedBits, payload.Span);
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _sendLocks.Exit(SendLocks.Write);
        }
    }

    /// <summary>
    /// Flushes the output, mapping transport failures to the connection's failure path. A flush that completes at once
    /// (the usual case: the transport takes the bytes without back-pressure) returns without an async state machine.
    /// </summary>
    private ValueTask FlushAsync(CancellationToken cancellationToken)
    {
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

    /// <summary>
    /// What a whole-message send writes under the locks: a payload to frame (a span or a multi-segment sequence), or the
    /// finished bytes of a frame prepared once for many connections.
    /// </summary>
    private readonly struct OutgoingFrame
    {
        private readonly ReadOnlyMemory<byte> _bytes;
        private readonly ReadOnlySequence<byte> _sequence;
        private readonly WebSocketOpcode _opcode;
        private readonly byte _shape;

        private const byte Payload = 0;
        private const byte Sequence = 1;
        private const byte Prepared = 2;

        private OutgoingFrame(byte shape, WebSocketOpcode opcode, ReadOnlyMemory<byte> bytes, ReadOnlySequence<byte> sequence, long payloadLength)
        {
            _shape = shape;
            _opcode = opcode;
            _bytes = bytes;
            _sequence = sequence;
            PayloadLength = payloadLength;
        }

        /// <summary>The payload bytes the message carries (what <see cref="BufferedAmount"/> and the metrics count).</summary>
        public long PayloadLength { get; }

        public static OutgoingFrame ForPayload(WebSocketOpcode opcode, ReadOnlyMemory<byte> payload) =>
            new(Payload, opcode, payload, default, payload.Length);

        public static OutgoingFrame ForSequence(WebSocketOpcode opcode, in ReadOnlySequence<byte> payload) =>
            new(Sequence, opcode, default, payload, payload.Length);

        public static OutgoingFrame ForPrepared(ReadOnlyMemory<byte> frame, int payloadLength) =>
            new(Prepared, default, frame, default, payloadLength);

        public void WriteTo(PipeWriter output, WebSocketRole role)
        {
            switch (_shape)
            {
                case Payload:
                    FrameWriter.WriteFrame(output, role, _opcode, fin: true, 0, _bytes.Span);
                    break;
                case Sequence:
                    FrameWriter.WriteFrame(output, role, _opcode, fin: true, 0, _sequence);
                    break;
                default:
                    output.Write(_bytes.Span);
                    break;
            }
        }
    }

    /// <summary>
    /// The connection's message lock and write lock, kept in one state word so an uncontended whole-message send takes
    /// both with one compare-exchange and releases both with another.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Why not two <see cref="SemaphoreSlim"/>s: each Wait(0)/Release pair enters and leaves a monitor twice, and a
    /// whole-message send needs two pairs; in the echo micro-benchmark that was about a tenth of the time per message.
    /// Why not one lock: a streamed message holds the message lock across its fragments while control frames (pongs,
    /// close) must still get out between them, so the roles differ; they share only the state word.
    /// </para>
    /// <para>
    /// State bits, per lock: held, and has-waiters. Invariant: a lock's has-waiters bit is set exactly while its queue is
    /// non-empty, and only while the lock is held (a waiter queues only behind a holder, and a release with waiters hands
    /// ownership straight to the first one without clearing held). Lock-free fast paths touch a lock's bits only when its
    /// has-waiters bit is clear: acquire sets held if held is clear; release clears held. Everything involving a queue
    /// (queuing, cancelling, handing off) runs under <see cref="_gate"/>, and changes bits with compare-exchange loops
    /// because the other lock's fast paths may change its own bits at the same moment. A release that finds
    /// has-waiters set therefore always goes through the gate, where it either hands off or (the queue emptied by
    /// cancellation meanwhile) clears held; a waiter cannot be stranded behind a released lock.
    /// </para>
    /// <para>
    /// Waiters are woken in FIFO order, like <see cref="SemaphoreSlim.WaitAsync()"/>; an arrival may still take a lock the
    /// instant it is free with nobody queued, as <c>Wait(0)</c> could. Continuations run asynchronously, so a release (for
    /// example by the receive loop after a pong) never runs the next sender's code inline. Waiting allocates a waiter;
    /// the uncontended paths allocate nothing.
    /// </para>
    /// </remarks>
    private sealed class SendLocks
    {
        /// <summary>Held for a whole data message: every fragment of a streamed one.</summary>
        public const int Message = 0;

        /// <summary>Held while one frame is written and flushed.</summary>
        public const int Write = 1;

        private const int MessageHeld = 1;
        private const int WriteHeld = 2;
        private const int BothHeld = MessageHeld | WriteHeld;

        // Has-waiters bit of lock k is Held(k) << 2.
        private const int WaiterShift = 2;

        private int _state;
        private readonly Lock _gate = new();
        private readonly WaiterQueue[] _queues = [new(), new()];

        /// <summary>Takes both locks if both are free and nobody waits for either; never blocks.</summary>
        public bool TryEnterBoth() => Interlocked.CompareExchange(ref _state, BothHeld, 0) == 0;

        /// <summary>Releases both locks taken by <see cref="TryEnterBoth"/> (or separately): the write lock first, as nested.</summary>
        public void ExitBoth()
        {
            if (Interlocked.CompareExchange(ref _state, 0, BothHeld) != BothHeld)
            {
                Exit(Write);
                Exit(Message);
            }
        }

        /// <summary>Takes lock <paramref name="which"/>, waiting in turn if it is held.</summary>
        /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before the lock was taken; nothing is held then.</exception>
        public ValueTask EnterAsync(int which, CancellationToken cancellationToken)
        {
            int held = 1 << which;
            int waiters = held << WaiterShift;
            int state = Volatile.Read(ref _state);
            while ((state & (held | waiters)) == 0)
            {
                int seen = Interlocked.CompareExchange(ref _state, state | held, state);
                if (seen == state)
                {
                    return default;
                }

                state = seen;
            }

            return cancellationToken.IsCancellationRequested
                ? ValueTask.FromCanceled(cancellationToken)
                : WaitAsync(which, cancellationToken);
        }

        /// <summary>Releases lock <paramref name="which"/>, handing it to the first waiter if there is one.</summary>
        public void Exit(int which)
        {
            int held = 1 << which;
            int waiters = held << WaiterShift;
            int state = Volatile.Read(ref _state);
            while ((state & waiters) == 0)
            {
                Debug.Assert((state & held) != 0, "Releasing a send lock that is not held.");
                int seen = Interlocked.CompareExchange(ref _state, state & ~held, state);
                if (seen == state)
                {
                    return;
                }

                state = seen;
            }

            Waiter? next;
            lock (_gate)
            {
                next = _queues[which].Dequeue();
                if (next is null)
                {
                    // Every waiter cancelled after we read the state: nobody to hand to.
                    Update(clear: held | waiters, set: 0);
                }
                else if (_queues[which].IsEmpty)
                {
                    Update(clear: waiters, set: 0); // held stays set: ownership passes to next
                }
            }

            next?.TrySetResult();
        }

        private async ValueTask WaitAsync(int which, CancellationToken cancellationToken)
        {
            int held = 1 << which;
            int waiters = held << WaiterShift;
            Waiter waiter;
            lock (_gate)
            {
                // Under the gate no hand-off or cancellation can run, so held-or-queue is decided atomically here.
                int state = Volatile.Read(ref _state);
                while (true)
                {
                    int desired = (state & held) == 0 ? state | held : state | waiters;
                    int seen = Interlocked.CompareExchange(ref _state, desired, state);
                    if (seen == state)
                    {
                        break;
                    }

                    state = seen;
                }

                if ((state & held) == 0)
                {
                    return; // freed between the fast path and the gate
                }

                waiter = new Waiter(this, which);
                _queues[which].Enqueue(waiter);
            }

            if (cancellationToken.CanBeCanceled)
            {
                // Registered outside the gate: a token cancelled meanwhile runs the callback inline, and it takes the gate.
                waiter.Registration = cancellationToken.UnsafeRegister(
                    static (state, token) => ((Waiter)state!).Owner.Cancel((Waiter)state!, token), waiter);
            }

            try
            {
                await waiter.Task.ConfigureAwait(false);
            }
            finally
            {
                waiter.Registration.Dispose();
            }
        }

        /// <summary>Removes a cancelled waiter if it is still queued; if the lock was already handed to it, it keeps it.</summary>
        private void Cancel(Waiter waiter, CancellationToken token)
        {
            lock (_gate)
            {
                WaiterQueue queue = _queues[waiter.Which];
                if (!queue.Remove(waiter))
                {
                    return;
                }

                if (queue.IsEmpty)
                {
                    Update(clear: (1 << waiter.Which) << WaiterShift, set: 0);
                }
            }

            waiter.TrySetCanceled(token);
        }

        /// <summary>Changes bits under the gate, racing only with the other lock's fast paths.</summary>
        private void Update(int clear, int set)
        {
            int state = Volatile.Read(ref _state);
            while (true)
            {
                int seen = Interlocked.CompareExchange(ref _state, (state & ~clear) | set, state);
                if (seen == state)
                {
                    return;
                }

                state = seen;
            }
        }

        private sealed class Waiter(SendLocks owner, int which) : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
        {
            public SendLocks Owner { get; } = owner;

            public int Which { get; } = which;

            public CancellationTokenRegistration Registration { get; set; }

            public Waiter? Previous { get; set; }

            public Waiter? Next { get; set; }

            public bool Queued { get; set; }
        }

        /// <summary>A doubly linked FIFO of waiters, so a cancelled one leaves in constant time. Used only under the gate.</summary>
        private sealed class WaiterQueue
        {
            private Waiter? _head;
            private Waiter? _tail;

            public bool IsEmpty => _head is null;

            public void Enqueue(Waiter waiter)
            {
                waiter.Queued = true;
                waiter.Previous = _tail;
                if (_tail is null)
                {
                    _head = waiter;
                }
                else
                {
                    _tail.Next = waiter;
                }

                _tail = waiter;
            }

            public Waiter? Dequeue()
            {
                Waiter? waiter = _head;
                if (waiter is not null)
                {
                    Remove(waiter);
                }

                return waiter;
            }

            public bool Remove(Waiter waiter)
            {
                if (!waiter.Queued)
                {
                    return false;
                }

                if (waiter.Previous is null)
                {
                    _head = waiter.Next;
                }
                else
                {
                    waiter.Previous.Next = waiter.Next;
                }

                if (waiter.Next is null)
                {
                    _tail = waiter.Previous;
                }
                else
                {
                    waiter.Next.Previous = waiter.Previous;
                }

                waiter.Previous = waiter.Next = null;
                waiter.Queued = false;
                return true;
            }
        }
    }
}
