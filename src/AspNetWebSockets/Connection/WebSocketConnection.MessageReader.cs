using System.Diagnostics;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using AspNetWebSockets.Transport;

namespace AspNetWebSockets;

public sealed partial class WebSocketConnection
{
    /// <summary>
    /// <see cref="ReadAllAsync"/>'s enumerator. Written by hand rather than as an async iterator so that a connection waiting
    /// for its next message holds this one object, not the iterator's state machine plus the receive's: on a transport
    /// that can (<see cref="IWebSocketTransport.CanWaitForInput"/>: lean sockets) it waits for input itself, as the work
    /// item the socket runs when bytes arrive, and it is the source of the <see cref="MoveNextAsync"/> task. Idle
    /// connections are most connections, so this is most of what a WebSocket costs while nothing happens. The same steps
    /// as <see cref="ReceiveAsync(CancellationToken)"/>: the synchronous attempt, the wait for input, the receive loop when
    /// the message is not whole (and the wait, on other transports), then the rate limits.
    /// </summary>
    private sealed class MessageReader : IAsyncEnumerable<WebSocketMessage>, IAsyncEnumerator<WebSocketMessage>, IValueTaskSource<bool>, IThreadPoolWorkItem
    {
        private readonly WebSocketConnection _connection;
        private readonly CancellationToken _readAllToken;
        private CancellationToken _token;
        private CancellationTokenSource? _linkedToken;
        private int _enumeratorTaken;
        private bool _ended;
        private WebSocketMessage? _message;
        private Activity? _span;

        // The pending MoveNextAsync: what it waits for, the awaiter it waits on (not for input: the transport runs this
        // object then), the cancellation of a wait for input, and the task it completes.
        private Step _step;
        private ConfiguredValueTaskAwaitable<bool>.ConfiguredValueTaskAwaiter _pending;
        private CancellationTokenRegistration _inputCancellation;
        private bool _inputCanceled;
        private ManualResetValueTaskSourceCore<bool> _completion;
        private Action? _resume; // made by the first wait on _pending: an idle connection's reader never needs one

        // The application's execution context at MoveNextAsync, which the receive runs in after a wait (as an await would
        // run it): its logging scopes and activity. Read completions arrive on I/O threads with none.
        private ExecutionContext? _context;

        public MessageReader(WebSocketConnection connection, CancellationToken cancellationToken)
        {
            _connection = connection;
            _readAllToken = cancellationToken;
            _token = cancellationToken;
        }

        private enum Step
        {
            /// <summary>No MoveNextAsync is pending.</summary>
            None,

            /// <summary>Holding the receive slot, waiting for the transport to run this object (input arrived) or for the token.</summary>
            Input,

            /// <summary>Waiting for the receive loop (<see cref="_pending"/>), which holds the receive slot.</summary>
            Receive,

            /// <summary>Waiting for the rate limits' admission (<see cref="_pending"/>).</summary>
            Admission,
        }

        public WebSocketMessage Current => _message!;

        public IAsyncEnumerator<WebSocketMessage> GetAsyncEnumerator(CancellationToken cancellationToken = default)
        {
            // As an async iterator does: the first enumerator is this object, later ones are fresh; both tokens apply.
            MessageReader reader = Interlocked.Exchange(ref _enumeratorTaken, 1) == 0 ? this : new MessageReader(_connection, _readAllToken);
            reader._enumeratorTaken = 1;
            if (cancellationToken.CanBeCanceled && cancellationToken != _readAllToken)
            {
                if (_readAllToken.CanBeCanceled)
                {
                    reader._linkedToken = CancellationTokenSource.CreateLinkedTokenSource(_readAllToken, cancellationToken);
                    reader._token = reader._linkedToken.Token;
                }
                else
                {
                    reader._token = cancellationToken;
                }
            }

            return reader;
        }

        public ValueTask<bool> MoveNextAsync()
        {
            if (_step != Step.None)
            {
                throw new InvalidOperationException("MoveNextAsync was called while the previous call is still pending.");
            }

            // The previous message's span ends when the application asks for the next one.
            _span?.Dispose();
            _span = null;
            if (_ended)
            {
                return new ValueTask<bool>(false);
            }

            _message ??= new WebSocketMessage();
            _completion.Reset();
            bool hasMessage;
            try
            {
                if (!Start(out hasMessage))
                {
                    return new ValueTask<bool>(this, _completion.Version);
                }
            }
            catch
            {
                End();
                throw;
            }

            return new ValueTask<bool>(Conclude(hasMessage));
        }

        public ValueTask DisposeAsync()
        {
            if (_step != Step.None)
            {
                throw new InvalidOperationException("The enumerator cannot be disposed while MoveNextAsync is pending.");
            }

            End();
            return default;
        }

        bool IValueTaskSource<bool>.GetResult(short token) => _completion.GetResult(token);

        ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _completion.GetStatus(token);

        void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _completion.OnCompleted(continuation, state, token, flags);

        /// <summary>
        /// Takes the receive slot and tries to decode a message now; otherwise waits for input while holding nothing but the
        /// slot. True when the outcome is known (<paramref name="hasMessage"/>), false when a wait was registered.
        /// </summary>
        private bool Start(out bool hasMessage)
        {
            WebSocketConnection connection = _connection;
            connection._receiveSlot.Enter();
            InputDecoder.Progress progress;
            bool inputChecked = false;
            try
            {
                progress = connection.TryReceiveNow(_message!, _token);
                if (progress != InputDecoder.Progress.Complete && connection._transport.CanWaitForInput && connection.WaitsForInput(_message!, progress))
                {
                    inputChecked = true;

                    // All set before the wait is registered: the transport may run this object at once, on its own thread.
                    _step = Step.Input;
                    _context = ExecutionContext.Capture();
                    if (_token.CanBeCanceled)
                    {
                        _inputCancellation = _token.UnsafeRegister(static reader => ((MessageReader)reader!).CancelInputWait(), this);
                    }

                    if (connection._transport.WaitForInput(this))
                    {
                        if (_token.IsCancellationRequested)
                        {
                            CancelInputWait(); // cancelled before the wait was registered: the callback found nothing to withdraw
                        }

                        hasMessage = false;
                        return false;
                    }

                    _inputCancellation.Dispose();
                    _inputCancellation = default;
                    _step = Step.None;
                    _context = null;
                    progress = InputArrived();
                }
            }
            catch
            {
                _inputCancellation.Dispose();
                _inputCancellation = default;
                _step = Step.None;
                _context = null;
                connection._receiveSlot.Exit();
                throw;
            }

            return Continue(progress, inputChecked, out hasMessage);
        }

        /// <summary>The token cancelled a wait for input: if the input did not come first, the MoveNextAsync ends with the cancellation.</summary>
        private void CancelInputWait()
        {
            if (_connection._transport.CancelInputWait(this))
            {
                _inputCanceled = true;
                Resume();
            }
        }

        /// <summary>The transport ran the wait for input: input arrived, or ended.</summary>
        void IThreadPoolWorkItem.Execute() => Resume();

        /// <summary>Decodes what is in the input now; a failure of the read is left for the receive loop.</summary>
        private InputDecoder.Progress InputArrived()
        {
            try
            {
                return _connection.Input.TryRead(out ReadResult ready)
                    ? _connection.DecodeArrived(_message!, ready, _token)
                    : InputDecoder.Progress.NotStarted;
            }
            catch (Exception e) when (IsLeftForReceiveLoop(e, _token))
            {
                return InputDecoder.Progress.NotStarted;
            }
        }

        /// <summary>With the receive slot held: a whole message goes to admission, anything else to the receive loop, which releases the slot.</summary>
        private bool Continue(InputDecoder.Progress progress, bool inputChecked, out bool hasMessage)
        {
            if (progress == InputDecoder.Progress.Complete)
            {
                _connection._receiveSlot.Exit();
                return Admit(out hasMessage);
            }

            if (!Await(_connection.ReceiveIntoSlowAsync(_message!, progress, inputChecked, _token), Step.Receive, out bool received))
            {
                hasMessage = false;
                return false;
            }

            return Received(received, out hasMessage);
        }

        private bool Received(bool received, out bool hasMessage)
        {
            if (!received)
            {
                hasMessage = false; // the connection closed
                return true;
            }

            return Admit(out hasMessage);
        }

        /// <summary>Rate limits: admission waits (backpressure) or closes with 1008 (then the enumeration ends).</summary>
        private bool Admit(out bool hasMessage)
        {
            if (_connection._rateLimit is null)
            {
                hasMessage = true;
                return true;
            }

            return Await(_connection.AdmitAsync(_message!, _token), Step.Admission, out hasMessage);
        }

        /// <summary>True with the result when <paramref name="task"/> is done; otherwise registers <see cref="Resume"/> for <paramref name="step"/>.</summary>
        private bool Await(ValueTask<bool> task, Step step, out bool result)
        {
            _pending = task.ConfigureAwait(false).GetAwaiter();
            if (_pending.IsCompleted)
            {
                result = GetPendingResult();
                return true;
            }

            _step = step;
            _context = ExecutionContext.Capture();
            _pending.UnsafeOnCompleted(_resume ??= Resume);
            result = false;
            return false;
        }

        private bool GetPendingResult()
        {
            ConfiguredValueTaskAwaitable<bool>.ConfiguredValueTaskAwaiter pending = _pending;
            _pending = default;
            return pending.GetResult();
        }

        /// <summary>
        /// Where a wait ends: moves the pending MoveNextAsync on, and completes it once its outcome is known. Input arriving on
        /// a corking connection (the event-loop mode, lean connections) runs as a receive callback, corked and timed, as
        /// <see cref="CorkedRead"/> would run it. The waits for the receive loop and the admission resume inside their own
        /// reads' callbacks.
        /// </summary>
        private void Resume()
        {
            if (_step == Step.Input && _connection._settings.AutoCork)
            {
                ReceiveCallbackRunner.Run(
                    static reader =>
                    {
                        reader.ResumeWithContext();
                        return true;
                    },
                    this,
                    _connection._settings.LoopStalls,
                    _connection);
            }
            else
            {
                ResumeWithContext();
            }
        }

        private void ResumeWithContext()
        {
            ExecutionContext? context = _context;
            _context = null;
            if (context is null)
            {
                ResumeInContext();
            }
            else
            {
                ExecutionContext.Run(context, static reader => ((MessageReader)reader!).ResumeInContext(), this);
            }
        }

        private void ResumeInContext()
        {
            Step step = _step;
            _step = Step.None;
            bool hasMessage;
            try
            {
                bool known;
                switch (step)
                {
                    case Step.Input:
                        InputDecoder.Progress progress;
                        try
                        {
                            _inputCancellation.Dispose(); // waits out a cancellation callback running elsewhere (it found no wait to withdraw)
                            _inputCancellation = default;
                            if (_inputCanceled)
                            {
                                _inputCanceled = false;
                                throw new OperationCanceledException(_token);
                            }

                            progress = InputArrived();
                        }
                        catch
                        {
                            _connection._receiveSlot.Exit();
                            throw;
                        }

                        known = Continue(progress, inputChecked: true, out hasMessage);
                        break;
                    case Step.Receive:
                        known = Received(GetPendingResult(), out hasMessage);
                        break;
                    default:
                        hasMessage = GetPendingResult();
                        known = true;
                        break;
                }

                if (!known)
                {
                    return; // waiting again
                }

                hasMessage = Conclude(hasMessage);
            }
            catch (Exception e)
            {
                End();
                _completion.SetException(e);
                return;
            }

            _completion.SetResult(hasMessage);
        }

        /// <summary>A message starts its span (when traced); no message ends the enumeration.</summary>
        private bool Conclude(bool hasMessage)
        {
            if (!hasMessage)
            {
                End();
                return false;
            }

            _span = _connection._messageTracer?.StartProcess(_message!);
            return true;
        }

        private void End()
        {
            _ended = true;
            _span?.Dispose();
            _span = null;
            _message?.Dispose();
            _message = null;
            _linkedToken?.Dispose();
            _linkedToken = null;
        }
    }
}
