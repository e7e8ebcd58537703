using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.TestHost;

namespace AspNetWebSockets.IntegrationTests.Hosting;

/// <summary><c>AddWebSocketReadiness</c>: ready until a connection threshold is reached or a drain begins.</summary>
public sealed class ReadinessHealthCheckTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<TestApp> StartAsync(int? threshold) => TestApp.StartAsync(
        TransportMode.InMemory,
        a =>
        {
            a.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
            a.MapWebSocket("/hold", async (WebSocketConnection socket) =>
            {
                await foreach (WebSocketMessage _ in socket.ReadAllAsync())
                {
                }
            });
        },
        services: s => s.AddHealthChecks().AddWebSocketReadiness(connectionThreshold: threshold));

    private static async Task<(int Status, string Body)> ProbeAsync(TestApp app)
    {
        using HttpResponseMessage response = await app.App.GetTestClient().GetAsync("/health/ready", Ct);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task Readiness_fails_once_a_drain_begins()
    {
        await using TestApp app = await StartAsync(threshold: null);
        Assert.Equal((200, "Healthy"), await ProbeAsync(app));

        await app.App.Services.GetRequiredService<IWebSocketDrain>().DrainAsync(Ct);

        Assert.Equal((503, "Unhealthy"), await ProbeAsync(app));
    }

    [Fact]
    public async Task Readiness_fails_at_the_connection_threshold_and_recovers_below_it()
    {
        await using TestApp app = await StartAsync(threshold: 2);
        await using WebSocketConnection first = await app.ConnectAsync("/hold");
        Assert.Equal(200, (await ProbeAsync(app)).Status);

        // The client sees the 101 a moment before the server has counted the connection: poll, bounded, both ways.
        WebSocketConnection second = await app.ConnectAsync("/hold");
        Assert.Equal(503, await ProbeUntilAsync(app, 503));

        await second.CloseAsync(1000, null, Ct);
        Assert.Equal(200, await ProbeUntilAsync(app, 200));
    }

    private static async Task<int> ProbeUntilAsync(TestApp app, int expected)
    {
        int status = 0;
        for (int attempt = 0; attempt < 100 && status != expected; attempt++)
        {
            status = (await ProbeAsync(app)).Status;
            if (status != expected)
            {
                await Task.Delay(20, Ct);
            }
        }

        return status;
    }

    [Fact]
    public void A_non_positive_threshold_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new ServiceCollection().AddHealthChecks().AddWebSocketReadiness(connectionThreshold: 0));
}
