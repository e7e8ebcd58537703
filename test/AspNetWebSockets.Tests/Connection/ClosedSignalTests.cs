using Microsoft.Extensions.Logging.Abstractions;

namespace AspNetWebSockets.Tests.Connection;

/// <summary>
/// <see cref="ClosedSignal"/> makes its task and token only when someone asks before the close; whether they ask before,
/// after or while it is raised, they see the same outcome, and the token is cancelled before the task completes.
/// </summary>
public sealed class ClosedSignalTests
{
    private static readonly WebSocketCloseInfo Info = new(WebSocketCloseCode.GoingAway, "bye", WasClean: true);

    // The signal is a mutable struct: tests share it through a field, never a copy.
    private sealed class Holder
    {
        public ClosedSignal Signal;
    }

    [Fact]
    public void Raising_before_anyone_asked_makes_nothing_and_later_askers_see_the_outcome()
    {
        var holder = new Holder();
        holder.Signal.Raise(Info, NullLogger.Instance, "c1");

        Assert.False(holder.Signal.WasAsked);
        Assert.True(holder.Signal.Token.IsCancellationRequested);
        Assert.True(holder.Signal.Task.IsCompletedSuccessfully);
        Assert.Equal(Info, holder.Signal.Task.Result);
        bool ran = false;
        using CancellationTokenRegistration registration = holder.Signal.Token.Register(() => ran = true);
        Assert.True(ran); // a callback registered after the close runs at once
        Assert.False(holder.Signal.WasAsked);
    }

    [Fact]
    public void Asking_before_the_raise_makes_a_pending_signal_that_the_raise_cancels_then_completes()
    {
        var holder = new Holder();
        Task<WebSocketCloseInfo> task = holder.Signal.Task;
        CancellationToken token = holder.Signal.Token;
        bool? completedDuringCallback = null;
        using CancellationTokenRegistration registration = token.Register(() => completedDuringCallback = task.IsCompleted);

        Assert.True(holder.Signal.WasAsked);
        Assert.False(task.IsCompleted);
        Assert.False(token.IsCancellationRequested);
        Assert.Same(task, holder.Signal.Task);

        holder.Signal.Raise(Info, NullLogger.Instance, "c1");

        Assert.False(completedDuringCallback); // the token's callbacks ran before the task completed
        Assert.True(token.IsCancellationRequested);
        Assert.Equal(Info, task.Result);
        Assert.Same(task, holder.Signal.Task);
    }

    [Fact]
    public void A_throwing_callback_does_not_stop_the_task_completing()
    {
        var holder = new Holder();
        using CancellationTokenRegistration registration = holder.Signal.Token.Register(static () => throw new InvalidOperationException("app bug"));

        holder.Signal.Raise(Info, NullLogger.Instance, "c1");

        Assert.Equal(Info, holder.Signal.Task.Result);
    }

    [Fact]
    public async Task Asking_while_the_signal_is_raised_never_sees_a_completed_task_with_a_live_token()
    {
        const int Rounds = 2000; // bounded: each round is two short threads
        for (int round = 0; round < Rounds; round++)
        {
            var holder = new Holder();
            using var start = new Barrier(2);
            Task raise = Task.Run(() =>
            {
                start.SignalAndWait();
                holder.Signal.Raise(Info, NullLogger.Instance, "c1");
            }, TestContext.Current.CancellationToken);
            Task ask = Task.Run(() =>
            {
                start.SignalAndWait();
                bool askTaskFirst = round % 2 == 0;
                Task<WebSocketCloseInfo> task = askTaskFirst ? holder.Signal.Task : Task.FromResult(default(WebSocketCloseInfo));
                CancellationToken token = holder.Signal.Token;
                if (!askTaskFirst)
                {
                    task = holder.Signal.Task;
                }

                bool completed = task.IsCompleted;
                Assert.True(!completed || token.IsCancellationRequested, $"round {round}: the task completed before the token was cancelled");
            }, TestContext.Current.CancellationToken);

            await Task.WhenAll(raise, ask).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

            // Whoever won, everyone ends up seeing the one outcome.
            Assert.True(holder.Signal.Token.IsCancellationRequested);
            Assert.Equal(Info, await holder.Signal.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
        }
    }

    [Fact]
    public async Task A_connection_closed_before_anyone_asked_reports_its_close_afterwards()
    {
        await using var peer = new InMemoryPeer();

        peer.Connection.Abort();

        Assert.True(peer.Connection.ConnectionClosed.IsCancellationRequested);
        WebSocketCloseInfo info = await peer.Connection.Closed.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.Equal(WebSocketCloseCode.AbnormalClosure, info.Code);
        Assert.False(info.WasClean);
    }
}
