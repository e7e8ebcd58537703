using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AspNetWebSockets.Redis;

/// <summary>
/// Whether this node is connected to the Redis backplane: while it is not, broadcasts from other nodes do not reach its
/// members (and are not replayed), so a node that stays disconnected should leave the load balancer's rotation.
/// </summary>
internal sealed class RedisBackplaneHealthCheck : IHealthCheck
{
    private readonly RedisWebSocketBackplane _backplane;

    public RedisBackplaneHealthCheck(RedisWebSocketBackplane backplane) => _backplane = backplane;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_backplane.IsConnected
            ? HealthCheckResult.Healthy("Connected to the Redis backplane.")
            : new HealthCheckResult(context.Registration.FailureStatus, "Not connected to the Redis backplane: broadcasts from other nodes are lost."));
}
