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

        WebSocketConnection second = await app.ConnectAsync("/hold");
        Assert.Equal(503, (await ProbeAsync(app)).Status);

        await second.CloseAsync(1000, null, Ct);
        int status = 0;
        for (int attempt = 0; attempt < 100 && status != 200; attempt++)
        {
            status = (await ProbeAsync(app)).Status;
            await Task.Delay(20, Ct);
        }

        Assert.Equal(200, status);
    }

    [Fact]
    public void A_non_positive_threshold_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new ServiceCollection().AddHealthChecks().AddWebSocketReadiness(connectionThreshold: 0));
}
