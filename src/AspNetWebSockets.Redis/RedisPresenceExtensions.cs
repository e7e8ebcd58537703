using AspNetWebSockets;
using AspNetWebSockets.Redis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Redis presence to the groups service.</summary>
public static class RedisPresenceExtensions
{
    /// <summary>
    /// Makes <see cref="IWebSocketPresence"/> span every node sharing the Redis server and key prefix:
    /// <c>services.AddWebSocketGroups().AddRedisBackplane(redis).AddRedisPresence(redis)</c>. See
    /// <see cref="RedisWebSocketPresence"/> for the expiry bound and the cost.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddWebSocketGroups</c>.</param>
    /// <param name="configuration">A StackExchange.Redis configuration string.</param>
    /// <param name="configure">Sets the prefix and timing, or null.</param>
    /// <returns>The builder, for chaining.</returns>
    public static WebSocketGroupsBuilder AddRedisPresence(this WebSocketGroupsBuilder builder, string configuration, Action<RedisPresenceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(configuration);
        builder.Services.AddOptions<RedisPresenceOptions>()
            .Configure(o =>
            {
                o.Configuration = configuration;
                configure?.Invoke(o);
            })
            .Validate(o => !string.IsNullOrWhiteSpace(o.KeyPrefix), "KeyPrefix must be non-empty.")
            .Validate(o => o.HeartbeatInterval > TimeSpan.Zero && o.NodeTimeout > o.HeartbeatInterval, "NodeTimeout must exceed a positive HeartbeatInterval.")
            .Validate(o => o.SweepBatchSize > 0, "SweepBatchSize must be positive.")
            .ValidateOnStart();
        builder.Services.TryAddSingleton<RedisWebSocketPresence>();
        builder.Services.Replace(ServiceDescriptor.Singleton<IWebSocketPresence>(sp => sp.GetRequiredService<RedisWebSocketPresence>()));
        builder.Services.Replace(ServiceDescriptor.Singleton<IWebSocketPresenceTracker>(sp => sp.GetRequiredService<RedisWebSocketPresence>()));
        builder.Services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<RedisWebSocketPresence>());
        return builder;
    }
}
