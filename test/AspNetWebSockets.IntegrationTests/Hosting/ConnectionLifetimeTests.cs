namespace AspNetWebSockets.IntegrationTests.Hosting;

/// <summary><c>MaxConnectionLifetime</c>: connections are closed with the configured code once their (jittered) lifetime is up.</summary>
public sealed class ConnectionLifetimeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static void MapHold(WebApplication app) => app.MapWebSocket("/hold", async (WebSocketConnection socket) =>
    {
        await foreach (WebSocketMessage _ in socket.ReadAllAsync())
        {
        }
    });

    [Fact]
    public async Task A_connection_is_closed_with_the_configured_code_when_its_lifetime_is_up()
    {
        await using TestApp app = await TestApp.StartAsync(TransportMode.InMemory, MapHold, o =>
        {
            o.MaxConnectionLifetime = TimeSpan.FromMilliseconds(600);
            o.ConnectionLifetimeCloseCode = 4001;
        });
        var opened = System.Diagnostics.Stopwatch.StartNew();
        await using WebSocketConnection client = await app.ConnectAsync("/hold");
        Assert.Null(await client.ReceiveAsync(Ct)); // the server's close

        WebSocketCloseInfo closed = await client.Closed.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Equal(new WebSocketCloseInfo(4001, "Connection lifetime reached", WasClean: true), closed);
        Assert.True(opened.Elapsed >= TimeSpan.FromMilliseconds(500), $"closed after {opened.ElapsedMilliseconds} ms, before its lifetime");
    }

    [Fact]
    public async Task With_jitter_every_connection_closes_with_1001_inside_the_band()
    {
        await using TestApp app = await TestApp.StartAsync(TransportMode.InMemory, MapHold, o =>
        {
            o.MaxConnectionLifetime = TimeSpan.FromSeconds(1);
            o.ConnectionLifetimeJitter = TimeSpan.FromMilliseconds(700);
        });
        var opened = System.Diagnostics.Stopwatch.StartNew();
        var clients = new WebSocketConnection[10];
        for (int i = 0; i < clients.Length; i++)
        {
            clients[i] = await app.ConnectAsync("/hold");
            _ = clients[i].ReceiveAsync(Ct).AsTask();
        }

        WebSocketCloseInfo[] closes = await Task.WhenAll(clients.Select(c => c.Closed)).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.All(closes, c => Assert.Equal((1001, true), (c.Code, c.WasClean)));
        Assert.True(opened.Elapsed >= TimeSpan.FromMilliseconds(250), $"all closed after {opened.ElapsedMilliseconds} ms, before lifetime minus jitter");
        foreach (WebSocketConnection client in clients)
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task Without_the_option_connections_stay_open()
    {
        await using TestApp app = await TestApp.StartAsync(TransportMode.InMemory, MapHold);
        await using WebSocketConnection client = await app.ConnectAsync("/hold");
        await Task.Delay(300, Ct);
        Assert.Equal(WebSocketReadyState.Open, client.ReadyState);
    }
}
