using System.Diagnostics;

namespace AspNetWebSockets.IntegrationTests.Hosting;

/// <summary>Host shutdown drains with <c>o.Drain.Window</c>; a drain can be hurried; a drained server refuses upgrades with 503.</summary>
public sealed class DrainShutdownTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static void MapHold(WebApplication app) => app.MapWebSocket("/hold", async (WebSocketConnection socket) =>
    {
        await foreach (WebSocketMessage _ in socket.ReadAllAsync())
        {
        }
    });

    private static async Task<WebSocketConnection[]> ConnectAsync(TestApp app, int count)
    {
        var clients = new WebSocketConnection[count];
        for (int i = 0; i < count; i++)
        {
            clients[i] = await app.ConnectAsync("/hold");
            _ = clients[i].ReceiveAsync(Ct).AsTask(); // answers the server's close
        }

        return clients;
    }

    [Fact]
    public async Task Host_shutdown_spreads_the_1001_closes_over_the_drain_window()
    {
        TimeSpan window = TimeSpan.FromSeconds(2);
        TestApp app = await TestApp.StartAsync(TransportMode.InMemory, MapHold, o => o.Drain.Window = window);
        WebSocketConnection[] clients = await ConnectAsync(app, 20);
        var closedAt = new TimeSpan[clients.Length];
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < clients.Length; i++)
        {
            int index = i;
            _ = clients[i].Closed.ContinueWith(_ => closedAt[index] = Stopwatch.GetElapsedTime(start), TaskScheduler.Default);
        }

        await app.DisposeAsync(); // StopAsync: the shutdown drain

        WebSocketCloseInfo[] seen = await Task.WhenAll(clients.Select(c => c.Closed)).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.All(seen, c => Assert.Equal(WebSocketCloseCode.GoingAway, c.Code));
        await Task.Delay(100, Ct);
        Assert.True(closedAt.Count(t => t >= window / 2) >= clients.Length / 5, string.Join(", ", closedAt.Select(t => (int)t.TotalMilliseconds)));
    }

    [Fact]
    public async Task A_hurried_drain_closes_the_rest_at_once_and_upgrades_are_refused_with_retry_after()
    {
        await using TestApp app = await TestApp.StartAsync(TransportMode.InMemory, MapHold, o => o.Drain.RetryAfter = TimeSpan.FromMilliseconds(1500));
        WebSocketConnection[] clients = await ConnectAsync(app, 10);
        IWebSocketDrain drain = app.App.Services.GetRequiredService<IWebSocketDrain>();
        using var hurry = new CancellationTokenSource();
        Task draining = drain.DrainAsync(TimeSpan.FromMinutes(10), hurry.Token);

        var refused = await HostingAssert.RefusedAsync(app, "/hold", 503);
        Assert.Equal("2", refused.Headers.RetryAfter.ToString()); // whole seconds, rounded up
        Assert.Same(draining, drain.DrainAsync(Ct)); // a second call joins the first

        hurry.Cancel();
        await draining.WaitAsync(TimeSpan.FromSeconds(30), Ct); // far less than the 10 minute window
        WebSocketCloseInfo[] seen = await Task.WhenAll(clients.Select(c => c.Closed)).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.All(seen, c => Assert.Equal(WebSocketCloseCode.GoingAway, c.Code));
    }

    [Fact]
    public void Drain_options_refuse_negative_windows_and_non_positive_retry_after()
    {
        var options = new WebSocketDrainOptions();
        Assert.Throws<ArgumentOutOfRangeException>(() => options.Window = TimeSpan.FromSeconds(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => options.RetryAfter = TimeSpan.Zero);
    }
}
