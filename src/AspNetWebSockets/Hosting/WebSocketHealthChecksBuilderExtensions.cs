using AspNetWebSockets.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Health checks for the AspNetWebSockets server.</summary>
public static class WebSocketHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a readiness check that fails while the server drains (<c>IWebSocketDrain</c>, host shutdown) and, when
    /// <paramref name="connectionThreshold"/> is set, while the node holds that many WebSocket connections or more. Map it
    /// as the readiness probe, e.g. <c>app.MapHealthChecks("/health/ready", new() { Predicate = c =&gt; c.Tags.Contains("ready") })</c>.
    /// Needs <c>AddWebSockets</c>.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name. Default <c>websockets</c>.</param>
    /// <param name="connectionThreshold">Report <paramref name="failureStatus"/> at this many connections; null (default) for no threshold.</param>
    /// <param name="failureStatus">What a failing check reports. Default <see cref="HealthStatus.Unhealthy"/>.</param>
    /// <param name="tags">Tags for filtering; default <c>ready</c>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static IHealthChecksBuilder AddWebSocketReadiness(
        this IHealthChecksBuilder builder,
        string name = "websockets",
        int? connectionThreshold = null,
        HealthStatus failureStatus = HealthStatus.Unhealthy,
        IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (connectionThreshold is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(connectionThreshold), connectionThreshold, "The connection threshold must be positive when set.");
        }

        return builder.Add(new HealthCheckRegistration(
            name,
            sp => new WebSocketReadinessHealthCheck(sp.GetRequiredService<WebSocketServer>(), connectionThreshold),
            failureStatus,
            tags ?? ["ready"]));
    }
}
