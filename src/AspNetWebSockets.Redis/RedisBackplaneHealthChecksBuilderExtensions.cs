using AspNetWebSockets.Redis;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Health check for the Redis backplane.</summary>
public static class RedisBackplaneHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a check that reports <paramref name="failureStatus"/> while this node is not connected to the Redis backplane
    /// (StackExchange.Redis reconnects by itself; the check follows). Needs <c>AddRedisBackplane</c>.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name. Default <c>websocket-backplane</c>.</param>
    /// <param name="failureStatus">What a failing check reports. Default <see cref="HealthStatus.Unhealthy"/>.</param>
    /// <param name="tags">Tags for filtering; default <c>ready</c>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IHealthChecksBuilder AddRedisBackplaneCheck(
        this IHealthChecksBuilder builder,
        string name = "websocket-backplane",
        HealthStatus failureStatus = HealthStatus.Unhealthy,
        IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return builder.Add(new HealthCheckRegistration(
            name,
            sp => new RedisBackplaneHealthCheck(sp.GetRequiredService<RedisWebSocketBackplane>()),
            failureStatus,
            tags ?? ["ready"]));
    }
}
