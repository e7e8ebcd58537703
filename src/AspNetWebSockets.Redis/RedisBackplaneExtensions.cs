using AspNetWebSockets;
using AspNetWebSockets.Redis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the Redis backplane to the groups service.</summary>
public static class RedisBackplaneExtensions
{
    /// <summary>
    /// Makes group and "all" broadcasts reach members on every node that shares the Redis server and channel prefix:
    /// <c>services.AddWebSocketGroups().AddRedisBackplane("127.0.0.1:6379", o => o.ChannelPrefix = "myapp")</c>.
    /// It connects when the host starts; see <see cref="RedisWebSocketBackplane"/> for what is lost while Redis is unreachable.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddWebSocketGroups</c>.</param>
    /// <param name="configuration">A StackExchange.Redis configuration string, e.g. <c>127.0.0.1:6379</c>.</param>
    /// <param name="configure">Sets further options (the channel prefix), or null.</param>
    /// <returns>The builder, for chaining.</returns>
    public static WebSocketGroupsBuilder AddRedisBackplane(this WebSocketGroupsBuilder builder, string configuration, Action<RedisBackplaneOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(configuration);
        builder.Services.AddOptions<RedisBackplaneOptions>()
            .Configure(o =>
            {
                o.Configuration = configuration;
                configure?.Invoke(o);
            })
            .Validate(o => !string.IsNullOrWhiteSpace(o.ChannelPrefix) && !o.ChannelPrefix.Contains('*'), "ChannelPrefix must be non-empty and contain no '*'.")
            .ValidateOnStart();
        builder.Services.TryAddSingleton<RedisWebSocketBackplane>();
        builder.Services.Replace(ServiceDescriptor.Singleton<IWebSocketBackplane>(sp => sp.GetRequiredService<RedisWebSocketBackplane>()));

        // Starting the groups and sender services with the backplane makes sure their receivers are set before messages arrive.
        builder.Services.AddSingleton<IHostedService>(sp =>
        {
            _ = sp.GetRequiredService<IWebSocketGroups>();
            _ = sp.GetRequiredService<IWebSocketSender>();
            return sp.GetRequiredService<RedisWebSocketBackplane>();
        });
        return builder;
    }
}
