using System.Diagnostics;
using AspNetWebSockets.Diagnostics;

namespace AspNetWebSockets;

/// <summary>
/// Event-loop mode (and lean connections): runs what a completed read resumes — the receive, and the application's
/// handling of the message up to its next wait — and the handler's opening run as a receive callback: corked (see
/// <see cref="CallbackBatch"/>) and timed against the stall threshold. Its own type so this machinery has one owner; the
/// connection uses it only when its settings say <see cref="WebSocketConnectionSettings.AutoCork"/>.
/// </summary>
/// <remarks>
/// A mutable struct held inline by the connection, like <see cref="KeepAliveClock"/>: as an object of its own it cost 48
/// bytes per lean connection (a header and references to the connection and the stall monitor besides its state), so
/// the connection passes those in. Keep it in a non-readonly field and never copy it.
/// </remarks>
internal struct ReceiveCallbackRunner
{
    // One read is pending at a time (the receive slot), so one field holds its continuation; the delegate that runs it is
    // made once per connection.
    private Action? _continuation;
    private Action? _resume;

    /// <summary>
    /// The delegate to register on a pending read: it runs <paramref name="continuation"/> as a receive callback, through
    /// the owner's <see cref="WebSocketConnection.RunReceiveContinuation"/> (which calls <see cref="TakeContinuation"/> and
    /// <see cref="Run"/>).
    /// </summary>
    public Action Resume(Action continuation, WebSocketConnection owner)
    {
        _continuation = continuation;
        return _resume ??= owner.RunReceiveContinuation;
    }

    /// <summary>The continuation registered by <see cref="Resume"/>, now that its read completed.</summary>
    public Action TakeContinuation()
    {
        Action continuation = _continuation!;
        _continuation = null;
        return continuation;
    }

    /// <summary>
    /// Runs <paramref name="callback"/> as a receive callback: every connection it sends to flushes once, when the outermost
    /// callback ends; its duration is reported to <paramref name="stalls"/> (when not null) against <paramref name="connection"/>.
    /// </summary>
    public static TResult Run<TState, TResult>(Func<TState, TResult> callback, TState state, WebSocketLoopStallMonitor? stalls, WebSocketConnection connection)
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
}
