using Microsoft.Extensions.Logging;

namespace AspNetWebSockets;

/// <summary>
/// How a connection ended, told to the application once: <see cref="Token"/> is cancelled first, so its callbacks (group
/// memberships, the request's <c>RequestAborted</c>) have all run by the time <see cref="Task"/> completes with the code,
/// reason and whether the close was clean — code that awaits it sees the connection gone everywhere.
/// </summary>
/// <remarks>
/// <para>
/// Made on demand: a connection nobody asks about (an echo handler that only reads and sends) never holds the task, its
/// completion source and the token source — 152 bytes per idle connection. One state word, changed only by
/// compare-exchange: null (nobody asked, not raised), a <see cref="Pending"/> (someone asked first: it is cancelled and
/// completed in that order by <see cref="Raise"/>), or the completed task (raised before anyone asked: later askers get
/// it and an already-cancelled token, which allocates nothing).
/// </para>
/// <para>
/// A mutable struct held inline by the connection: keep it in a non-readonly field and never copy it.
/// </para>
/// </remarks>
internal struct ClosedSignal
{
    // null | Pending | Task<WebSocketCloseInfo> (completed); see the remarks.
    private object? _state;

    /// <summary>Completes with how the connection ended.</summary>
    public Task<WebSocketCloseInfo> Task
    {
        get
        {
            while (true)
            {
                switch (Volatile.Read(ref _state))
                {
                    case Task<WebSocketCloseInfo> raised:
                        return raised;
                    case Pending pending:
                        return pending.Task;
                    default:
                        Ask();
                        break;
                }
            }
        }
    }

    /// <summary>Cancelled when the connection ends, just before <see cref="Task"/> completes.</summary>
    public CancellationToken Token
    {
        get
        {
            while (true)
            {
                switch (Volatile.Read(ref _state))
                {
                    case Task<WebSocketCloseInfo>:
                        return new CancellationToken(canceled: true); // a shared, already-cancelled source
                    case Pending pending:
                        return pending.Token;
                    default:
                        Ask();
                        break;
                }
            }
        }
    }

    /// <summary>Whether the task and the token were made: someone asked before the signal was raised (for tests).</summary>
    internal bool WasAsked => Volatile.Read(ref _state) is Pending;

    /// <summary>
    /// Cancels <see cref="Token"/>, then completes <see cref="Task"/> with <paramref name="info"/>; when nobody asked
    /// yet, only records the completed task. Called once.
    /// </summary>
    public void Raise(WebSocketCloseInfo info, ILogger logger, string connectionId)
    {
        object? state = Volatile.Read(ref _state) ?? Interlocked.CompareExchange(ref _state, System.Threading.Tasks.Task.FromResult(info), null);
        if (state is not Pending pending)
        {
            return; // nobody asked: nothing to cancel or complete, and every later asker sees the outcome
        }

        try
        {
            pending.Cancel();
        }
        catch (AggregateException e)
        {
            // A callback registered by the application threw; the connection is closed regardless.
            Log.TransportFailed(logger, connectionId, e);
        }

        pending.TrySetResult(info);
    }

    /// <summary>
    /// Stores a pending signal unless the state is no longer empty (another asker, or a raise, got there first: the
    /// caller then reads theirs). Loops in the getters run at most twice.
    /// </summary>
    private void Ask() => Interlocked.CompareExchange(ref _state, new Pending(), null);

    /// <summary>The task and the token of a signal someone asked for before it was raised.</summary>
    private sealed class Pending() : TaskCompletionSource<WebSocketCloseInfo>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        private readonly CancellationTokenSource _token = new();

        public CancellationToken Token => _token.Token;

        public void Cancel() => _token.Cancel();
    }
}
