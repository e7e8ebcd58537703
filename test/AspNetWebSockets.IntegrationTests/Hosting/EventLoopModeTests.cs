using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

namespace AspNetWebSockets.IntegrationTests.Hosting;

/// <summary>
/// The event-loop mode's own behaviour (<c>builder.WebHost.UseWebSocketEventLoop()</c>): a handler that holds the loop is
/// counted and logged, one that does not is never, and each server says once at startup which mode it runs in. These run
/// in both of build/test.sh's runs: in the default run the hosts here still get Kestrel's inline scheduling and the stall
/// monitor, but not inline socket completions (the process's socket engine was fixed before, see <see cref="StartAsync"/>).
/// </summary>
public sealed class EventLoopModeTests
{
    private const int StalledEventId = 14;
    private const int ModeEventId = 15;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(TransportMode.KestrelPipes)]
    [InlineData(TransportMode.KestrelStream)]
    public async Task A_handler_that_blocks_on_a_message_is_counted_and_logged_once_with_its_connection(TransportMode mode)
    {
        var logs = new FakeLogCollector();
        var serverConnectionId = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await StartAsync(mode, TimeSpan.FromMilliseconds(100), logs, a => a.MapWebSocket("/block", async (WebSocketConnection socket) =>
        {
            serverConnectionId.TrySetResult(socket.ConnectionId);
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                Thread.Sleep(400); // blocks the I/O thread on purpose: the stall under test
                await socket.SendAsync(message.Data, message.Type);
            }
        }));
        using MetricCollector<long> stalls = CollectStalls(app);
        await using WebSocketConnection client = await app.ConnectAsync("/block");

        await client.SendTextAsync("hold the loop", Ct);
        using WebSocketMessage? echo = await client.ReceiveAsync(Ct);

        Assert.Equal("hold the loop", echo?.GetText());
        await stalls.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(10));
        FakeLogRecord warning = await WaitForSingleAsync(logs, StalledEventId);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Equal("EventLoopStalled", warning.Id.Name);
        Assert.Equal(await serverConnectionId.Task.WaitAsync(Ct), warning.GetStructuredStateValue("ConnectionId"));
        Assert.True(long.Parse(warning.GetStructuredStateValue("ElapsedMs")!, System.Globalization.CultureInfo.InvariantCulture) >= 400, warning.Message);
        Assert.Equal("100", warning.GetStructuredStateValue("ThresholdMs"));
        Assert.Equal(1, stalls.GetMeasurementSnapshot().EvaluateAsCounter());
    }

    [Fact]
    public async Task A_handler_that_blocks_before_its_first_wait_is_counted_and_logged_too()
    {
        var logs = new FakeLogCollector();
        var serverConnectionId = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await StartAsync(TransportMode.KestrelPipes, TimeSpan.FromMilliseconds(100), logs, a => a.MapWebSocket("/block", async (WebSocketConnection socket) =>
        {
            serverConnectionId.TrySetResult(socket.ConnectionId);
            Thread.Sleep(400); // the opening run holds the I/O thread as a receive callback would
            await socket.SendTextAsync("opened");
            await socket.ReceiveAsync();
        }));
        using MetricCollector<long> stalls = CollectStalls(app);
        await using WebSocketConnection client = await app.ConnectAsync("/block");

        using WebSocketMessage? opened = await client.ReceiveAsync(Ct);

        Assert.Equal("opened", opened?.GetText());
        await stalls.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(10));
        FakeLogRecord warning = await WaitForSingleAsync(logs, StalledEventId);
        Assert.Equal(await serverConnectionId.Task.WaitAsync(Ct), warning.GetStructuredStateValue("ConnectionId"));
        Assert.Equal(1, stalls.GetMeasurementSnapshot().EvaluateAsCounter());
    }

    [Theory]
    [InlineData(TransportMode.KestrelPipes)]
    [InlineData(TransportMode.KestrelStream)]
    public async Task A_handler_that_does_not_block_is_never_counted_however_long_it_waits_for_input(TransportMode mode)
    {
        var logs = new FakeLogCollector();
        var serverClosed = new TaskCompletionSource<WebSocketCloseInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await StartAsync(mode, TimeSpan.FromMilliseconds(200), logs, a => a.MapWebSocket("/echo", async (WebSocketConnection socket) =>
        {
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                await socket.SendAsync(message.Data, message.Type);
            }

            serverClosed.TrySetResult(await socket.Closed);
        }));
        using MetricCollector<long> stalls = CollectStalls(app);
        await using WebSocketConnection client = await app.ConnectAsync("/echo");

        // Idle gaps longer than the threshold between messages: waiting for input does not hold the loop.
        for (int i = 0; i < 3; i++)
        {
            await Task.Delay(300, Ct);
            await client.SendTextAsync($"message {i}", Ct);
            using WebSocketMessage? echo = await client.ReceiveAsync(Ct);
            Assert.Equal($"message {i}", echo?.GetText());
        }

        await client.CloseAsync(WebSocketCloseCode.NormalClosure, "done", Ct);
        Assert.Equal(1000, (await serverClosed.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct)).Code);
        Assert.Equal(0, stalls.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.DoesNotContain(logs.GetSnapshot(), r => IsLibraryEvent(r, StalledEventId));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Lean_connections_are_spread_over_exactly_LoopCount_event_loops(int loopCount)
    {
        const int Connections = 6;
        var threads = new System.Collections.Concurrent.ConcurrentDictionary<string, byte>();
        await TestExecutionMode.SocketCompletionsRunInlineAsync(Ct);
        await using TestApp app = await TestApp.StartAsync(
            TransportMode.KestrelLean,
            a => a.MapWebSocket("/thread", async (WebSocketConnection socket) =>
            {
                await foreach (WebSocketMessage message in socket.ReadAllAsync())
                {
                    // In the event-loop mode the code after a lean connection's wait for input runs on its loop's thread (the
                    // first message may be read before the handler's first wait, on the thread that started it).
                    if (message.GetText() == "after a wait")
                    {
                        threads.TryAdd(Thread.CurrentThread.Name ?? "(unnamed)", 0);
                    }

                    await socket.SendAsync(message.Data, message.Type);
                }
            }),
            host: h => h.UseWebSocketEventLoop(o => o.LoopCount = loopCount));
        var clients = new List<WebSocketConnection>();
        try
        {
            for (int i = 0; i < Connections; i++)
            {
                WebSocketConnection client = await app.ConnectAsync("/thread");
                clients.Add(client);
                foreach (string text in new[] { "first", "after a wait" })
                {
                    await client.SendTextAsync(text, Ct);
                    using WebSocketMessage? echo = await client.ReceiveAsync(Ct);
                    Assert.Equal(text, echo?.GetText());
                }
            }
        }
        finally
        {
            foreach (WebSocketConnection client in clients)
            {
                await client.DisposeAsync();
            }
        }

        Assert.Equal(Enumerable.Range(0, loopCount).Select(i => $"WebSocket loop {i}"), threads.Keys.Order());
    }

    [Fact]
    public void LoopCount_defaults_to_one_per_core_and_must_be_positive()
    {
        var options = new WebSocketEventLoopOptions();
        Assert.Equal(Environment.ProcessorCount, options.LoopCount);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.LoopCount = 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.LoopCount = -1);
        options.LoopCount = 3;
        Assert.Equal(3, options.LoopCount);
    }

    [Fact]
    public async Task Each_server_logs_its_mode_once_at_startup_and_a_server_without_the_switch_logs_none()
    {
        var firstLogs = new FakeLogCollector();
        var secondLogs = new FakeLogCollector();
        await using TestApp first = await StartAsync(TransportMode.KestrelPipes, TimeSpan.FromMilliseconds(50), firstLogs, MapEcho);
        await using TestApp second = await StartAsync(TransportMode.KestrelStream, TimeSpan.FromMilliseconds(50), secondLogs, MapEcho);
        var defaultLogs = new FakeLogCollector();
        await using TestApp withoutSwitch = await TestApp.StartAsync(TransportMode.InMemory, MapEcho, services: s => AddLogs(s, defaultLogs));

        foreach (TestApp app in new[] { first, second, withoutSwitch })
        {
            await using WebSocketConnection client = await app.ConnectAsync("/echo");
            await client.SendTextAsync("after startup", Ct);
            using WebSocketMessage? echo = await client.ReceiveAsync(Ct);
            Assert.Equal("after startup", echo?.GetText());
        }

        foreach ((TestApp app, FakeLogCollector logs) in new[] { (first, firstLogs), (second, secondLogs) })
        {
            Assert.True(app.App.Services.GetRequiredService<IOptions<WebSocketServerOptions>>().Value.EventLoop.Enabled);
            FakeLogRecord mode = Assert.Single(logs.GetSnapshot(), r => IsLibraryEvent(r, ModeEventId));
            Assert.Equal(LogLevel.Information, mode.Level);
            Assert.Equal("EventLoopMode", mode.Id.Name);
            string? inline = mode.GetStructuredStateValue("InlineCompletions");
            if (TestExecutionMode.EventLoop)
            {
                Assert.Equal("on", inline);
            }
            else
            {
                Assert.StartsWith("off", inline, StringComparison.Ordinal);
            }
        }

        Assert.False(withoutSwitch.App.Services.GetRequiredService<IOptions<WebSocketServerOptions>>().Value.EventLoop.Enabled);
        Assert.DoesNotContain(defaultLogs.GetSnapshot(), r => IsLibraryEvent(r, ModeEventId));
    }

    /// <summary>A record the library logged (Kestrel and hosting log their own events under the same numbers).</summary>
    private static bool IsLibraryEvent(FakeLogRecord record, int eventId) => record.Id.Id == eventId && record.Category == "AspNetWebSockets";

    /// <summary>
    /// A Kestrel host with <c>UseWebSocketEventLoop</c>, its logs into <paramref name="logs"/>. The process's socket engine is
    /// used first: <c>UseWebSocketEventLoop</c> asks for inline completions by setting the environment variable the
    /// runtime reads at the first socket use, and in the default run that must not turn the rest of this process inline.
    /// </summary>
    private static async Task<TestApp> StartAsync(TransportMode mode, TimeSpan stallThreshold, FakeLogCollector logs, Action<WebApplication> map)
    {
        await TestExecutionMode.SocketCompletionsRunInlineAsync(Ct);
        return await TestApp.StartAsync(
            mode,
            map,
            services: s => AddLogs(s, logs),
            host: h => h.UseWebSocketEventLoop(o => o.StallThreshold = stallThreshold));
    }

    private static void AddLogs(IServiceCollection services, FakeLogCollector logs) =>
        services.AddLogging(l => l.AddProvider(new FakeLoggerProvider(logs)));

    private static void MapEcho(WebApplication app) => app.MapWebSocket("/echo", async (WebSocketConnection socket) =>
    {
        await foreach (WebSocketMessage message in socket.ReadAllAsync())
        {
            await socket.SendAsync(message.Data, message.Type);
        }
    });

    private static MetricCollector<long> CollectStalls(TestApp app) =>
        new(app.App.Services.GetRequiredService<IMeterFactory>(), "AspNetWebSockets", "websocket.server.event_loop.stalls");

    /// <summary>The one record with <paramref name="eventId"/>, waiting (bounded) for it: the warning is written just after the stalled callback ends.</summary>
    private static async Task<FakeLogRecord> WaitForSingleAsync(FakeLogCollector logs, int eventId)
    {
        for (int attempt = 0; attempt < 200 && !logs.GetSnapshot().Any(r => IsLibraryEvent(r, eventId)); attempt++)
        {
            await Task.Delay(25, Ct);
        }

        return Assert.Single(logs.GetSnapshot(), r => IsLibraryEvent(r, eventId));
    }
}
