using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace AspNetWebSockets.IntegrationTests.Connection;

/// <summary>
/// Round-trip time (issue 17): a handler's <c>PingAsync</c> against our client and the framework's
/// <see cref="ClientWebSocket"/>, keep-alive pings feeding <c>RoundTripTime</c>, and the <c>websocket.server.rtt</c> histogram.
/// </summary>
public sealed class RoundTripTimeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A handler that pings its peer once and sends back the measured round trip in microseconds.</summary>
    private static void MapPinger(WebApplication app) => app.MapWebSocket("/rtt", async (WebSocketConnection socket) =>
    {
        TimeSpan roundTrip = await socket.PingAsync();
        Assert.Equal(roundTrip, socket.RoundTripTime);
        await socket.SendTextAsync(((long)roundTrip.TotalMicroseconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
        await foreach (WebSocketMessage _ in socket.ReadAllAsync())
        {
        }
    });

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task A_handlers_PingAsync_measures_the_round_trip_and_records_it(TransportMode mode)
    {
        await using TestApp app = await TestApp.StartAsync(mode, MapPinger);
        using var rtt = new MetricCollector<double>(app.App.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "AspNetWebSockets", "websocket.server.rtt");
        await using WebSocketConnection client = await app.ConnectAsync("/rtt");

        using WebSocketMessage? reply = await client.ReceiveAsync(Ct); // reading answers the server's ping
        Assert.True(long.Parse(reply!.GetText(), System.Globalization.CultureInfo.InvariantCulture) > 0);
        await rtt.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(10));
        Assert.True(Assert.Single(rtt.GetMeasurementSnapshot()).Value > 0);
        await client.CloseAsync(1000, null, Ct);
    }

    [Fact]
    public async Task PingAsync_works_against_ClientWebSocket()
    {
        await using TestApp app = await TestApp.StartAsync(TransportMode.KestrelPipes, MapPinger);
        using var client = new ClientWebSocket();
        await client.ConnectAsync(new Uri(app.WebSocketAddress, "/rtt"), Ct);

        var buffer = new byte[64];
        WebSocketReceiveResult result = await client.ReceiveAsync(buffer, Ct); // its pending receive answers the ping
        Assert.True(long.Parse(Encoding.UTF8.GetString(buffer, 0, result.Count), System.Globalization.CultureInfo.InvariantCulture) > 0);
        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, null, Ct);
    }

    [Fact]
    public async Task Keep_alive_pings_feed_the_round_trip_time()
    {
        var opened = new TaskCompletionSource<WebSocketConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(
            TransportMode.InMemory,
            a => a.MapWebSocket("/idle", async (WebSocketConnection socket) =>
            {
                opened.SetResult(socket);
                await foreach (WebSocketMessage _ in socket.ReadAllAsync())
                {
                }
            }),
            o => o.KeepAliveInterval = TimeSpan.FromMilliseconds(100));
        await using WebSocketConnection client = await app.ConnectAsync("/idle");
        Task<WebSocketMessage?> reading = client.ReceiveAsync(Ct).AsTask(); // answers the keep-alive pings
        WebSocketConnection server = await opened.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Null(server.RoundTripTime);

        for (int attempt = 0; attempt < 200 && server.RoundTripTime is null; attempt++)
        {
            await Task.Delay(25, Ct);
        }

        Assert.NotNull(server.RoundTripTime);
        await client.CloseAsync(1000, null, Ct);
        Assert.Null(await reading);
    }
}
