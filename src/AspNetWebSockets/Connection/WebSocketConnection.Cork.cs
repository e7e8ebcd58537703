namespace AspNetWebSockets;

public sealed partial class WebSocketConnection
{
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
    public WebSocketCork Cork() => new(_sender.TryBeginCork() ? _sender : null);

    /// <summary>
    /// Awaits a read of the input: in the event-loop mode what runs when it completes runs as a corked, timed receive
    /// callback (see <see cref="ReceiveCallbackRunner"/>); otherwise this is a plain await.
    /// </summary>
    private CorkedRead ReadCorkedAsync(CancellationToken cancellationToken) => new(_settings.AutoCork ? this : null, Input.ReadAsync(cancellationToken));

    /// <summary>The delegate a corked read registers: it runs <paramref name="continuation"/> as a receive callback.</summary>
    internal Action ResumeAsReceiveCallback(Action continuation) => _callbacks.Resume(continuation, this);

    /// <summary>Runs the continuation of the read that completed as a receive callback (the delegate <see cref="ResumeAsReceiveCallback"/> hands out).</summary>
    internal void RunReceiveContinuation() =>
        ReceiveCallbackRunner.Run(
            static continuation =>
            {
                continuation();
                return true;
            },
            _callbacks.TakeContinuation(),
            _settings.LoopStalls,
            this);

    /// <summary>
    /// Starts the application's handler — its opening run, up to its first wait, which also handles what arrived before its
    /// first read — as a receive callback in the event-loop mode (corked and timed); otherwise just starts it.
    /// </summary>
    internal Task StartHandler<TState>(Func<TState, Task> handler, TState state) =>
        _settings.AutoCork ? ReceiveCallbackRunner.Run(handler, state, _settings.LoopStalls, this) : handler(state);
}
