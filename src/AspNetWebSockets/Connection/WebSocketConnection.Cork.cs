using System.Diagnostics;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace AspNetWebSockets;

public sealed partial class WebSocketConnection
{
    /// <summary>Corked bytes past which a send flushes anyway, so a handler that sends a lot in one run does not buffer it all.</summary>
    private const long CorkLimit = 16 * 1024;

    /// <summary>
    /// Corks the connection until the returned value is disposed: sends made on this thread meanwhile are written without
    /// being flushed, and leave together in one flush (one system call) at the end. uWebSockets calls this <c>ws.cork</c>.
    /// </summary>
    /// <remarks>
    /// <para>In the event-loop mode (<c>UseWebSocketEventLoop</c>), sends made while handling received messages are corked
    /// without this: everything a handler sends before it next waits for input (or for anything else) leaves in one flush
    /// per connection it went to — its own replies and a broadcast's members alike (up to 256 connections per run; beyond
    /// that they flush at once). In the default mode a handler may block, so its replies are not held back for it; Kestrel
    /// coalesces their socket writes instead. Use <see cref="Cork"/> for bursts in either mode.</para>
    /// <para>Sends from other threads are not held back: they flush at once, and take the corked bytes with them. A send
    /// still completes when its bytes are written; past 16 KiB of corked bytes a send flushes anyway. Corks nest; only the
    /// outermost one flushes.</para>
    /// <para>Await only the sends inside a cork (they complete at once while corked). Awaiting something else gives the
    /// thread back to the pool, and until the cork ends, sends on this connection that happen to run on that thread are
    /// held too.</para>
    /// </remarks>
    /// <returns>A value whose <see cref="WebSocketCork.Dispose"/> ends the cork and flushes.</returns>
    public WebSocketCork Cork() => new(this, BeginCork());

    /// <summary>Starts a cork on this thread; true if this call owns it (no cork was open), false if nested or another thread's cork is open.</summary>
    private bool BeginCork() => Interlocked.CompareExchange(ref _corkThread, Environment.CurrentManagedThreadId, 0) == 0;

    /// <summary>Ends a cork begun by <see cref="BeginCork"/>; the owner flushes what the corked sends wrote.</summary>
    internal void EndCork(bool owner)
    {
        if (!owner)
        {
            return;
        }

        Volatile.Write(ref _corkThread, 0);
        if (Volatile.Read(ref _flushPending) != 0)
        {
            FlushCorked();
        }
    }

    /// <summary>
    /// Whether a flush asked for now may wait for a cork's end: this connection is corked on this thread, or a receive
    /// callback runs on this thread and the connection joins its batch; and the corked bytes are under the limit.
    /// </summary>
    private bool DeferFlush()
    {
        int corkThread = Volatile.Read(ref _corkThread);
        if (corkThread != Environment.CurrentManagedThreadId
            && (corkThread != 0 || t_callbackBatch is not { Depth: > 0 } batch || !batch.TryJoin(this)))
        {
            return false;
        }

        if (!_output.CanGetUnflushedBytes || _output.UnflushedBytes >= CorkLimit)
        {
            return false;
        }

        Volatile.Write(ref _flushPending, 1);
        return true;
    }

    /// <summary>
    /// The flush at a cork's end. If another send holds the write lock, it flushes after its own write and takes these bytes
    /// with it; otherwise this flush holds the write lock until the transport took the bytes, so back-pressure still
    /// reaches the next sender.
    /// </summary>
    private void FlushCorked()
    {
        if (!_sendLocks.TryEnter(SendLocks.Write))
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
            _sendLocks.Exit(SendLocks.Write); // the failure path has already closed the connection
            return;
        }

        if (flush.IsCompletedSuccessfully)
        {
            _sendLocks.Exit(SendLocks.Write);
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
            _sendLocks.Exit(SendLocks.Write);
        }
    }

    /// <summary>
    /// Awaits a read of the input so that what runs when it completes — the receive, and the application's handling of the
    /// message, up to its next wait — runs corked, and is timed against the event loop's stall threshold.
    /// </summary>
    private CorkedRead ReadCorkedAsync(CancellationToken cancellationToken) => new(this, _input.ReadAsync(cancellationToken));

    /// <summary>
    /// Runs the continuation of a read awaited through <see cref="CorkedRead"/> as a receive callback: every connection it
    /// sends to joins this thread's batch, and each flushes once when the outermost callback ends.
    /// </summary>
    private void RunCorked()
    {
        Action continuation = _corkedContinuation!;
        _corkedContinuation = null;
        long started = _settings.LoopStalls is null ? 0 : Stopwatch.GetTimestamp();
        CallbackBatch batch = t_callbackBatch ??= new CallbackBatch();
        batch.Depth++;
        try
        {
            continuation();
        }
        finally
        {
            if (batch.Depth == 1)
            {
                batch.FlushMembers();
            }

            batch.Depth--;
            if (started != 0)
            {
                _settings.LoopStalls!.Observe(this, started);
            }
        }
    }

    /// <summary>The receive callbacks running on this thread (nested when a flush completes another read inline) and the connections they corked.</summary>
    [ThreadStatic]
    private static CallbackBatch? t_callbackBatch;

    /// <summary>
    /// The connections corked by the receive callback running on one thread: the connection whose read completed and any
    /// other it sends to (a reply, a broadcast's members), so each gets one flush per callback however many messages the
    /// callback sends it. Made once per thread and reused: no allocation per callback.
    /// </summary>
    private sealed class CallbackBatch
    {
        // A broadcast to more members than this flushes the rest at once: holding every member's bytes until the callback
        // ends would make a large fan-out buffer all of them at the same time.
        private const int MaxMembers = 256;

        private readonly List<WebSocketConnection> _members = [];

        /// <summary>How many receive callbacks run on this thread, nested.</summary>
        public int Depth { get; set; }

        /// <summary>Corks <paramref name="connection"/> until the callback ends; false when the batch is full or another thread corked it.</summary>
        public bool TryJoin(WebSocketConnection connection)
        {
            if (_members.Count >= MaxMembers || !connection.BeginCork())
            {
                return false;
            }

            _members.Add(connection);
            return true;
        }

        /// <summary>Ends every member's cork with its flush. Runs at depth 1, so a callback completed inline by a flush joins this batch instead of flushing it.</summary>
        public void FlushMembers()
        {
            for (int i = 0; i < _members.Count; i++)
            {
                _members[i].EndCork(owner: true);
            }

            _members.Clear();
        }
    }

    /// <summary>An awaitable over a pipe read whose continuation runs through <see cref="RunCorked"/>; allocates nothing per read.</summary>
    private readonly struct CorkedRead : ICriticalNotifyCompletion
    {
        private readonly WebSocketConnection _connection;
        private readonly ConfiguredValueTaskAwaitable<ReadResult>.ConfiguredValueTaskAwaiter _read;

        public CorkedRead(WebSocketConnection connection, ValueTask<ReadResult> read)
        {
            _connection = connection;
            _read = read.ConfigureAwait(false).GetAwaiter();
        }

        public bool IsCompleted => _read.IsCompleted;

        public CorkedRead GetAwaiter() => this;

        public ReadResult GetResult() => _read.GetResult();

        public void OnCompleted(Action continuation) => UnsafeOnCompleted(continuation);

        public void UnsafeOnCompleted(Action continuation)
        {
            if (!_connection._settings.AutoCork)
            {
                _read.UnsafeOnCompleted(continuation); // the default mode: a reply leaves at once
                return;
            }

            // One read is pending at a time (the receive slot), so one field holds its continuation; the delegate that
            // runs it is made once per connection.
            _connection._corkedContinuation = continuation;
            _read.UnsafeOnCompleted(_connection._runCorked ??= _connection.RunCorked);
        }
    }
}
