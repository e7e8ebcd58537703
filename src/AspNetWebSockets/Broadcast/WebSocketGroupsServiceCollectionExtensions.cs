using AspNetWebSockets;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="IWebSocketGroups"/>.</summary>
public static class WebSocketGroupsServiceCollectionExtensions
{
    /// <summary>
    /// Adds the groups and broadcast service (<see cref="IWebSocketGroups"/>, a singleton) with the in-memory (single-node)
    /// backplane unless another <see cref="IWebSocketBackplane"/> is registered, and with it addressing
    /// (<see cref="IWebSocketSender"/>) and presence (<see cref="IWebSocketPresence"/>, in-memory unless replaced).
    /// Call it before or after <c>AddWebSockets</c>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets options, or null for the defaults.</param>
    /// <returns>A builder for adding a backplane, e.g. <c>.AddRedisBackplane(...)</c>.</returns>
    public static WebSocketGroupsBuilder AddWebSocketGroups(this IServiceCollection services, Action<WebSocketGroupsOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        OptionsBuilder<WebSocketGroupsOptions> options = services.AddOptions<WebSocketGroupsOptions>()
            .Validate(o => o.MaxBufferedAmountPerMember > 0, "MaxBufferedAmountPerMember must be positive.")
            .Validate(o => Enum.IsDefined(o.SlowMemberPolicy), "SlowMemberPolicy is not a defined value.")
            .ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton<IWebSocketBackplane, InMemoryWebSocketBackplane>();
        services.AddWebSocketAddressingAndPresence();
        return new WebSocketGroupsBuilder(services);
    }
}

/// <summary>Returned by <see cref="WebSocketGroupsServiceCollectionExtensions.AddWebSocketGroups"/> to add a backplane.</summary>
/// <param name="services">The service collection.</param>
public sealed class WebSocketGroupsBuilder(IServiceCollection services)
{
    /// <summary>The service collection.</summary>
    public IServiceCollection Services { get; } = services;
}
