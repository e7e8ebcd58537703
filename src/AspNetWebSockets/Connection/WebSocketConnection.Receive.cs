using System.Buffers;
using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using AspNetWebSockets.Compression;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets;

public sealed partial class WebSocketConnection
{
    private static readonly ValueWebSocketReceiveResult CloseResult = new(0, WebSocketMessageType.Close, endOfMessage: true);

    // Who holds the input: nobody, an application receive (or the close drain), or the heartbeat's brief peek.
    private const int ReceiveIdle = 0;
    private const int ReceiveByApplication = 1;
    private const int ReceiveByPeek = 2;

    private int _receiving;
    private bool _closeReceived;

    // A control frame or violation the synchronous receive decoded but left for the receive loop to act on
    // (NeedMoreData means none); the control frame's payload stays in the decoder until the next decode.
    private DecodeStatus _pendingStatus;
    private ProtocolViolation _pendingViolation;

    // permessage-deflate receive state: decompressed length and UTF-8 of the message being inflated.
    private readonly MessageInflater? _inflater;
    private long _inflatedLength;
    private Utf8Validator _inflatedUtf8;

    /// <summary>
    /// Receives messages until the connection closes. Each message is valid until the loop moves to the next
    /// one, when its pooled buffer is reused; the sequence ends when the close handshake completes or the
    /// connection fails (see <see cref="Closed"/>).
    /// </summary>
    /// <param name="cancellationToken">Stops waiting for the next message.</param>
    /// <returns>The messages, one at a time.</returns>
    public async IAsyncEnumerable<WebSocketMessage> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var message = new WebSocketMessage();
        try
        {
            // Rate-limit hook (issue 17): AdmitAsync waits (backpressure) or closes with 1008 (then the loop ends).
            while (await ReceiveIntoAsync(message, cancellationToken).ConfigureAwait(false) && await AdmitAsync(message, cancellationToken).ConfigureAwait(false))
            {
                // Tracing hook (issue 17): an opt-in span per message while the application handles it.
                System.Diagnostics.Activity? span = _settings.MessageTracer?.StartProcess(message);
                try
                {
                    yield return message;
                }
                finally
                {
                    span?.Dispose();
                }
            }
        }
        finally
        {
            message.Dispose();
        }
    }

    /// <summary>Receives one whole message into a pooled buffer; dispose it when done. Returns null once the connection has closed.</summary>
    /// <param name="cancellationToken">Stops waiting; the connection stays usable.</param>
    /// <returns>The message, or null when the connection closed.</returns>
    public async ValueTask<WebSocketMessage?> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        var message = new WebSocketMessage();
        if (await ReceiveIntoAsync(message, cancellationToken).ConfigureAwait(false) && await AdmitAsync(message, cancellationToken).ConfigureAwait(false)) // rate-limit hook (issue 17)
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

        EnterReceive();
        try
        {
            return await ReceiveCoreAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ExitReceive();
        }
    }

    /// <summary>
    /// Receives one whole message into <paramref name="message"/>; false once the connection has closed. A message that is
    /// already complete in the input is decoded synchronously (see <see cref="TryReceiveBuffered"/>): with many messages in
    /// flight that is nearly every one, and it costs one pipe read and no async state machine.
    /// </summary>
    private ValueTask<bool> ReceiveIntoAsync(WebSocketMessage message, CancellationToken cancellationToken)
    {
        EnterReceive();
        bool handedOff = false;
        try
        {
            // A token already cancelled takes the general path, which reports the cancellation as it always has.
            BufferedReceive progress = cancellationToken.IsCancellationRequested ? BufferedReceive.NotStarted : TryReceiveBuffered(message);
            if (progress == BufferedReceive.Complete)
            {
                return new ValueTask<bool>(true);
            }

            handedOff = true;
            return ReceiveIntoSlowAsync(message, progress, cancellationToken);
        }
        finally
        {
            if (!handedOff)
            {
                ExitReceive();
            }
        }
    }

    /// <summary>What <see cref="TryReceiveBuffered"/> got done.</summary>
    private enum BufferedReceive : byte
    {
        /// <summary>Nothing was read; the message is untouched.</summary>
        NotStarted,

        /// <summary>As <see cref="NotStarted"/>, and the input was empty: the slow path may wait at once.</summary>
        NoInput,

        /// <summary>Input was consumed (part of the message, or a control frame or violation left in <see cref="_pendingStatus"/>); the slow path continues.</summary>
        Partial,

        /// <summary>A whole message is in <c>message</c>.</summary>
        Complete,
    }

    /// <summary>
    /// The synchronous part of a receive: decodes what is already in the input, frame after frame, until a message is
    /// complete or the input runs out, with one read and one advance of the pipe. A control frame or a violation stops it
    /// and is left in <see cref="_pendingStatus"/> for the receive loop, which answers it. Compressed connections take
    /// the general path (payload is staged for the inflater).
    /// </summary>
    private BufferedReceive TryReceiveBuffered(WebSocketMessage message)
    {
        if (!CanReceiveBuffered)
        {
            return BufferedReceive.NotStarted;
        }

        ReadResult read;
        try
        {
            if (!_input.TryRead(out read))
            {
                return BufferedReceive.NoInput;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return BufferedReceive.NotStarted; // the receive loop reads again and reports the failure
        }

        return ReceiveBuffered(message, read);
    }

    /// <summary>Whether <see cref="TryReceiveBuffered"/> may decode: not for compressed connections, nor after the close.</summary>
    private bool CanReceiveBuffered => _inflater is null && !_closeReceived && ReadyState != WebSocketReadyState.Closed;

    /// <summary>The decoding part of <see cref="TryReceiveBuffered"/>, over a read the caller made and this method advances.</summary>
    private BufferedReceive ReceiveBuffered(WebSocketMessage message, in ReadResult read)
    {
        ReadOnlySequence<byte> data = read.Buffer;
        if (data.IsEmpty || read.IsCanceled)
        {
            _input.AdvanceTo(data.Start);
            return BufferedReceive.NotStarted;
        }

        Volatile.Write(ref _lastReceived, Environment.TickCount64);
        message.Reset();
        var reader = new SequenceReader<byte>(data);
        long maxMessageSize = _decoder.Limits.MaxMessageSize;
        while (true)
        {
            Memory<byte> free = message.GetFreeMemory(maxMessageSize, message.IsFull ? _decoder.BufferedPayload(reader) : 0);
            if (free.IsEmpty)
            {
                _input.AdvanceTo(reader.Position);
                return BufferedReceive.Partial; // the receive loop fails it with 1009
            }

            DecodeStatus status = _decoder.Decode(ref reader, free.Span, out int written, out bool endOfMessage, out ProtocolViolation violation);
            if (status == DecodeStatus.Data)
            {
                message.Type = _decoder.MessageType;
                message.Advance(written);
                Received(written, endOfMessage);
                if (endOfMessage)
                {
                    _input.AdvanceTo(reader.Position);
                    return BufferedReceive.Complete;
                }

                continue;
            }

            if (status == DecodeStatus.NeedMoreData)
            {
                _input.AdvanceTo(reader.Position, data.End);
            }
            else
            {
                _input.AdvanceTo(reader.Position);
                _pendingStatus = status;
                _pendingViolation = violation;
            }

            return BufferedReceive.Partial;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ReceiveIntoSlowAsync(WebSocketMessage message, BufferedReceive progress, CancellationToken cancellationToken)
    {
        try
        {
            if (progress != BufferedReceive.Partial)
            {
                // NoInput: the synchronous attempt has just found the input empty; no need to look again.
                bool inputEmpty = progress == BufferedReceive.NoInput;
                progress = BufferedReceive.NotStarted;

                // Hold no pooled buffer while waiting for the next message (idle connections cost no receive memory),
                // but keep it when the next message is already here, so a busy stream does not re-grow it every time.
                if (inputEmpty || !InputAvailable())
                {
                    message.ReleaseBuffer();

                    // Wait until the input has bytes (or has ended), so a receive buffer is rented only when there is
                    // something to put in it. Awaited here rather than in a helper: an idle connection then holds one
                    // suspended state machine fewer. Failures are left for the receive loop below to observe and report.
                    ReadResult ready = default;
                    bool arrived = false;
                    try
                    {
                        ready = await _input.ReadAsync(cancellationToken).ConfigureAwait(false);
                        arrived = true;
                    }
                    catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                    {
                        // The receive loop reads again and reports it.
                    }

                    if (arrived)
                    {
                        // What arrived is usually a whole message: decode it from this very read, with a buffer sized
                        // to it at once. Otherwise consume and examine nothing: the receive loop reads the same bytes.
                        if (cancellationToken.IsCancellationRequested || !CanReceiveBuffered)
                        {
                            _input.AdvanceTo(ready.Buffer.Start);
                        }
                        else
                        {
                            progress = ReceiveBuffered(message, ready);
                        }
                    }
                }

                if (progress == BufferedReceive.Complete)
                {
                    return true;
                }

                if (progress is not BufferedReceive.Partial)
                {
                    message.Reset();
                }
            }

            while (true)
            {
                Memory<byte> free = message.GetFreeMemory(_decoder.Limits.MaxMessageSize);
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
            ExitReceive();
        }
    }

    /// <summary>Whether bytes are waiting in the input right now (peeked without consuming).</summary>
    private bool InputAvailable()
    {
        if (_inflater is { InMessage: true } || ReadyState == WebSocketReadyState.Closed || _closeReceived)
        {
            return true; // the receive loop has work or an answer without new input
        }

        try
        {
            if (!_input.TryRead(out ReadResult read))
            {
                return false;
            }

            _input.AdvanceTo(read.Buffer.Start);
            return !read.Buffer.IsEmpty || read.IsCompleted;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return true; // let the receive loop observe the failure
        }
    }

    private void EnterReceive()
    {
        if (!TryEnterReceive())
        {
            throw new InvalidOperationException("A receive is already in progress; only one may be pending at a time.");
        }
    }

    /// <summary>Takes the input for a receive; false if another receive holds it. Waits out the heartbeat's peek, which never awaits.</summary>
    private bool TryEnterReceive()
    {
        SpinWait spin = default;
        while (true)
        {
            int holder = Interlocked.CompareExchange(ref _receiving, ReceiveByApplication, ReceiveIdle);
            if (holder == ReceiveIdle)
            {
                return true;
            }

            if (holder == ReceiveByApplication)
            {
                return false;
            }

            spin.SpinOnce();
        }
    }

    private void ExitReceive() => Volatile.Write(ref _receiving, ReceiveIdle);

    /// <summary>The receive loop: read, decode, answer control frames, and return the first data chunk or the close.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ValueWebSocketReceiveResult> ReceiveCoreAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_closeReceived || ReadyState == WebSocketReadyState.Closed)
            {
                return CloseResult;
            }

            if (_pendingStatus != DecodeStatus.NeedMoreData)
            {
                DecodeStatus pending = _pendingStatus;
                _pendingStatus = DecodeStatus.NeedMoreData;
                if (pending == DecodeStatus.Control)
                {
                    if (await HandleControlFrameAsync().ConfigureAwait(false))
                    {
                        return CloseResult;
                    }

                    continue;
                }

                await FailAsync(_pendingViolation).ConfigureAwait(false);
                return CloseResult;
            }

            if (_inflater is { InMessage: true })
            {
                (ProtocolViolation inflateViolation, ValueWebSocketReceiveResult? inflated) = InflateInto(buffer.Span);
                if (inflateViolation != ProtocolViolation.None)
                {
                    await FailAsync(inflateViolation).ConfigureAwait(false);
                    return CloseResult;
                }

                if (inflated is { } result)
                {
                    return result;
                }

                // All staged input is inflated and the message needs more: read on.
            }

            ReadResult read;
            try
            {
                read = await _input.ReadAsync(cancellationToken).ConfigureAwait(false);
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

            ReadOnlySequence<byte> data = read.Buffer;
            if (read.IsCanceled || ReadyState == WebSocketReadyState.Closed)
            {
                _input.AdvanceTo(data.Start);
                return CloseResult;
            }

            if (!data.IsEmpty)
            {
                Volatile.Write(ref _lastReceived, Environment.TickCount64);
            }

            // With compression negotiated, payload lands in the inflater's staging buffer first: whether a message
            // is compressed is only known once its first header has been read. Uncompressed payload is then copied on.
            Span<byte> destination = _inflater is null ? buffer.Span : LimitTo(_inflater.GetInputSpan(), buffer.Length);
            var reader = new SequenceReader<byte>(data);
            DecodeStatus status = _decoder.Decode(ref reader, destination, out int written, out bool endOfMessage, out ProtocolViolation violation);
            switch (status)
            {
                case DecodeStatus.Data:
                    _input.AdvanceTo(reader.Position);
                    if (_inflater is not null)
                    {
                        if (_decoder.MessageCompressed)
                        {
                            if (!_inflater.InMessage)
                            {
                                _inflatedLength = 0;
                                _inflatedUtf8.Reset();
                            }

                            _inflater.CommitInput(written, endOfMessage);
                            continue;
                        }

                        destination[..written].CopyTo(buffer.Span);
                    }

                    return Received(written, endOfMessage);

                case DecodeStatus.NeedMoreData:
                    _input.AdvanceTo(reader.Position, data.End);
                    if (read.IsCompleted)
                    {
                        // End of stream without a close frame: the browser calls this 1006.
                        Terminate(new WebSocketCloseInfo(WebSocketCloseCode.AbnormalClosure, string.Empty, WasClean: false), graceful: false);
                        return CloseResult;
                    }

                    continue;

                case DecodeStatus.Control:
                    _input.AdvanceTo(reader.Position);
                    if (await HandleControlFrameAsync().ConfigureAwait(false))
                    {
                        return CloseResult;
                    }

                    continue;

                default:
                    _input.AdvanceTo(reader.Position);
                    await FailAsync(violation).ConfigureAwait(false);
                    return CloseResult;
            }
        }
    }

    /// <summary>
    /// Inflates staged compressed input into the caller's buffer, enforcing the message-size limit on decompressed bytes
    /// as they appear (a decompression bomb stops at the limit with 1009) and validating UTF-8 of text as it is produced.
    /// Returns a result when there is something to report, null when more compressed input is needed.
    /// </summary>
    private (ProtocolViolation Violation, ValueWebSocketReceiveResult? Result) InflateInto(Span<byte> buffer)
    {
        InflateStatus status;
        int written;
        try
        {
            status = _inflater!.Inflate(buffer, out written);
        }
        catch (ObjectDisposedException)
        {
            return (ProtocolViolation.None, CloseResult); // the connection was torn down meanwhile
        }

        if (status == InflateStatus.InvalidData)
        {
            return (ProtocolViolation.InvalidCompressedData, null);
        }

        bool endOfMessage = status == InflateStatus.MessageComplete;
        if (written == 0 && !endOfMessage)
        {
            return (ProtocolViolation.None, null);
        }

        _inflatedLength += written;
        if (_inflatedLength > _decoder.Limits.MaxMessageSize)
        {
            return (ProtocolViolation.MessageTooBig, null);
        }

        if (_decoder.MessageType == WebSocketMessageType.Text && !_inflatedUtf8.TryValidate(buffer[..written], endOfMessage))
        {
            return (ProtocolViolation.InvalidUtf8, null);
        }

        return (ProtocolViolation.None, Received(written, endOfMessage));
    }

    /// <summary>A data result for the application, counted in the metrics.</summary>
    private ValueWebSocketReceiveResult Received(int count, bool endOfMessage)
    {
        if (_metrics is not null)
        {
            _metrics.BytesReceived(count);
            if (endOfMessage)
            {
                _metrics.MessageReceived();
            }
        }

        return new ValueWebSocketReceiveResult(count, _decoder.MessageType, endOfMessage);
    }

    private static Span<byte> LimitTo(Span<byte> span, int length) => span.Length > length ? span[..length] : span;
}
