using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AspNetWebSockets.RedisTests;

/// <summary><c>AddRedisBackplaneCheck</c> follows the node's connection to Redis.</summary>
public sealed class BackplaneHealthCheckTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_check_is_healthy_while_connected_and_unhealthy_after_Redis_goes_away()
    {
        string binary = RedisServer.RequireRedisServerBinary();
        using var redis = new RedisServer.Private(binary); // private: it is killed
        await redis.StartAsync();
        await using Node node = await Node.StartAsync(redis.Endpoint, "health-" + Guid.NewGuid().ToString("N"));
        await using ServiceProvider checks = new ServiceCollection()
            .AddLogging()
            .AddSingleton(node.Backplane)
            .AddHealthChecks().AddRedisBackplaneCheck().Services
            .BuildServiceProvider();
        HealthCheckService health = checks.GetRequiredService<HealthCheckService>();

        HealthReport connected = await health.CheckHealthAsync(Ct);
        Assert.Equal(HealthStatus.Healthy, connected.Status);
        Assert.Contains("ready", connected.Entries["websocket-backplane"].Tags);

        await redis.KillAsync();
        HealthStatus status = HealthStatus.Healthy;
        for (int attempt = 0; attempt < 100 && status == HealthStatus.Healthy; attempt++)
        {
            status = (await health.CheckHealthAsync(Ct)).Status;
            await Task.Delay(50, Ct);
        }

        Assert.Equal(HealthStatus.Unhealthy, status);
    }
}
