using System.Diagnostics;
using AspNetWebSockets.Testing;

namespace AspNetWebSockets.IntegrationTests.Hardening;

/// <summary>
/// A drain with a thousand connections open (issue 17): every one gets 1001, the closes are spread over the window
/// rather than sent at once, new upgrades meanwhile get 503 with <c>Retry-After</c>, and nothing leaks.
/// </summary>
[Collection(HardeningCollection.Name)]
public sealed class DrainTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Drain_with_a_thousand_connections_sends_1001_to_all_spread_over_the_window()
    {
        const int Connections = 1000;
        TimeSpan window = TimeSpan.FromSeconds(4);
        int ended = 0;
        TestApp app = await TestApp.StartAsync(
            HardeningCollection.Transport,
            a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
            {
                await foreach (WebSocketMessage message in socket.ReadAllAsync())
                {
                    await socket.SendAsync(message.Data, message.Type, Ct);
                }

                await socket.Closed;
                Interlocked.Increment(ref ended);
            }),
            o =>
            {
                // A loaded 2-core machine: no close handshake may run out of time, or the server records 1006.
                o.ShutdownTimeout = TimeSpan.FromSeconds(60);
                o.CloseTimeout = TimeSpan.FromSeconds(60);
                o.KeepAliveInterval = Timeout.InfiniteTimeSpan;
                o.Drain.RetryAfter = TimeSpan.FromSeconds(7);
            });
        using var watch = new LeakWatch();
        var clients = new WebSocketConnection[Connections];
        var closedAt = new TimeSpan[Connections];
        var receives = new Task<WebSocketMessage?>[Connections];
        try
        {
            await ClientWaves.ConnectAsync(app, "/ws", clients, receives);

            IWebSocketDrain drain = app.App.Services.GetRequiredService<IWebSocketDrain>();
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < Connections; i++)
            {
                int index = i;
                _ = clients[i].Closed.ContinueWith(_ => closedAt[index] = Stopwatch.GetElapsedTime(start), TaskScheduler.Default);
            }

            Task draining = drain.DrainAsync(window, Ct);
            Assert.True(drain.IsDraining);

            var refused = await Assert.ThrowsAsync<WebSocketHandshakeException>(
                () => WebSocketTestClient.ConnectAsync(new Uri(app.WebSocketAddress, "/ws"), cancellationToken: Ct));
            Assert.Equal(503, refused.StatusCode);
            Assert.Equal("7", refused.Headers.RetryAfter.ToString());

            await draining.WaitAsync(TimeSpan.FromSeconds(120), Ct);
            WebSocketCloseInfo[] seen = await Task.WhenAll(clients.Select(c => c.Closed)).WaitAsync(TimeSpan.FromSeconds(60), Ct);
            Assert.All(seen, c => Assert.Equal((WebSocketCloseCode.GoingAway, true), (c.Code, c.WasClean)));
            Assert.All(receives, r => Assert.Null(r.Result));

            // Spread, loosely (not a timing assertion): evenly spread closes put about 10% in the first tenth of the
            // window and half in its second half; all at once would put every one in the first tenth.
            await Task.Delay(100, Ct); // the ContinueWith recorders run just after Closed completes
            int early = closedAt.Count(t => t < window / 10);
            int late = closedAt.Count(t => t >= window / 2);
            Assert.True(early < Connections / 2, $"{early} of {Connections} closes came in the first tenth of the window.");
            Assert.True(late >= Connections / 5, $"only {late} of {Connections} closes came in the second half of the window.");

            for (int attempt = 0; attempt < 600 && Volatile.Read(ref ended) < Connections; attempt++)
            {
                await Task.Delay(50, Ct);
            }

            Assert.Equal(Connections, Volatile.Read(ref ended));
            Assert.Equal(0, await LeakWatch.OpenConnectionsAfterDrainAsync(app));
        }
        finally
        {
            await ClientWaves.DisposeAsync(clients, app);
        }

        watch.AssertNoUnobservedTaskExceptions();
    }
}
