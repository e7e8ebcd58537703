namespace AspNetWebSockets.IntegrationTests.Hosting;

/// <summary>
/// The guard of build/test.sh's two runs: Kestrel hosts made by this suite run in the mode the run asked for — the
/// event-loop mode with inline socket completions when ASPNETWEBSOCKETS_TEST_EVENT_LOOP=1, the default otherwise — down
/// to the thread a handler resumes on after a receive, so the event-loop run cannot pass while silently testing the
/// default mode (nor the default run while inline).
/// </summary>
public sealed class ExecutionModeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(TransportMode.KestrelPipes)]
    [InlineData(TransportMode.KestrelStream)]
    public async Task Kestrel_hosts_run_in_the_mode_this_test_run_asked_for(TransportMode mode)
    {
        await using TestApp app = await TestApp.StartAsync(mode, _ => { });

        await TestExecutionMode.AssertHostRunsInRequestedModeAsync(app.App.Services, Ct);
    }

    // Over the upgrade stream too: in the event-loop mode the stream transport hands what its pump read to the receive
    // on the pump's own thread.
    [Theory]
    [InlineData(TransportMode.KestrelPipes)]
    [InlineData(TransportMode.KestrelStream)]
    public async Task A_handler_resumes_after_a_receive_on_the_I_O_thread_exactly_in_the_event_loop_run(TransportMode mode)
    {
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/thread", async (WebSocketConnection socket) =>
        {
            using WebSocketMessage? message = await socket.ReceiveAsync();
            await socket.SendTextAsync(Thread.CurrentThread.IsThreadPoolThread ? "thread pool" : "I/O thread");
        }));
        await using WebSocketConnection client = await app.ConnectAsync("/thread");

        await Task.Delay(100, Ct); // the handler is waiting for input by then, so the message completes a pending receive
        await client.SendTextAsync("where do you run?", Ct);
        using WebSocketMessage? reply = await client.ReceiveAsync(Ct);

        Assert.Equal(TestExecutionMode.EventLoop ? "I/O thread" : "thread pool", reply?.GetText());
    }
}
