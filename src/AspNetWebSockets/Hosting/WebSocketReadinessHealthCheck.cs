using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AspNetWebSockets.Hosting;

/// <summary>
/// Readiness of this node for new WebSocket connections: not ready while draining (so a load balancer or Kubernetes
/// stops sending it clients before the 1001 closes begin), and optionally not ready at a connection count.
/// </summary>
internal sealed class WebSocketReadinessHealthCheck : IHealthCheck
{
    private readonly WebSocketServer _server;
    private readonly int? _connectionThreshold;

    public WebSocketReadinessHealthCheck(WebSocketServer server, int? connectionThreshold)
    {
        _server = server;
        _connectionThreshold = connectionThreshold;
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        int connections = _server.ConnectionCount;
        bool draining = _server.IsDraining;
        var data = new Dictionary<string, object>
        {
            ["connections"] = connections,
            ["draining"] = draining,
        };
        if (_connectionThreshold is { } threshold)
        {
            data["connectionThreshold"] = threshold;
        }

        HealthCheckResult result = draining
            ? new HealthCheckResult(context.Registration.FailureStatus, "Draining: new WebSocket connections are refused.", data: data)
            : connections >= _connectionThreshold
                ? new HealthCheckResult(context.Registration.FailureStatus, $"{connections} WebSocket connections, at or above the threshold of {_connectionThreshold}.", data: data)
                : HealthCheckResult.Healthy($"{connections} WebSocket connections.", data);
        return Task.FromResult(result);
    }
}
