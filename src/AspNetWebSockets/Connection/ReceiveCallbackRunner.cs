using System.Diagnostics;
using AspNetWebSockets.Diagnostics;

namespace AspNetWebSockets;

/// <summary>
/// Event-loop mode: runs what a completed read resumes — the receive, and the application's handling of the message up
/// to its next wait — and the handler's opening run as a receive callback: corked (see <see cref="CallbackBatch"/>) and
/// timed against the stall threshold. Its own type because the default mode has none (the connection's field is null).
/// </summary>
internal sealed class ReceiveCallbackRunner(WebSocketConnection connection, WebSocketLoopStallMonitor? stalls)
{
    // One read is pending at a time (the receive slot), so one field holds its continuation; the delegate that runs it is
    // made once per connection.
    private Action? _continuation;
    private Action? _resume;

    /// <summary>The delegate to register on a pending read: it runs <paramref name="continuation"/> as a receive callback.</summary>
    public Action Resume(Action continuation)
    {
        _continuation = continuation;
        return _resume ??= RunContinuation;
    }

    /// <summary>Runs <paramref name="callback"/> as a receive callback: every connection it sends to flushes once, when the outermost callback ends.</summary>
    public TResult Run<TState, TResult>(Func<TState, TResult> callback, TState state)
    {
        long started = stalls is null ? 0 : Stopwatch.GetTimestamp();
        CallbackBatch batch = CallbackBatch.Enter();
        try
        {
            return callback(state);
        }
        finally
        {
            batch.Exit();
            if (started != 0)
            {
                stalls!.Observe(connection, started);
            }
        }
    }

    private void RunContinuation()
    {
        Action continuation = _continuation!;
        _continuation = null;
        Run(static continuation =>
        {
            continuation();
            return true;
        }, continuation);
    }
}
