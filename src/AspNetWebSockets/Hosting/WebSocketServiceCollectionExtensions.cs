using AspNetWebSockets;
using AspNetWebSockets.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the AspNetWebSockets server.</summary>
public static class WebSocketServiceCollectionExtensions
{
    /// <summary>Adds the WebSocket server with default options.</summary>
    /// <param name="services">The service collection.</param>
    /// <returns>The service collection, for chaining.</returns>
    public static IServiceCollection AddWebSockets(this IServiceCollection services) => services.AddWebSockets(static _ => { });

    /// <summary>
    /// Adds the WebSocket server and configures <see cref="WebSocketServerOptions"/>; the options are validated at startup.
    /// Also makes <see cref="WebSocketConnection"/> (request-scoped) and <see cref="IWebSocketDrain"/> (singleton) injectable into handlers and services.
    /// On Kestrel, applies <see cref="WebSocketServerOptions.HandshakeTimeout"/> to the server's keep-alive and request-headers
    /// timeouts where the application left them at Kestrel's defaults.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets options.</param>
    /// <returns>The service collection, for chaining.</returns>
    public static IServiceCollection AddWebSockets(this IServiceCollection services, Action<WebSocketServerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);

        services.AddOptions<WebSocketServerOptions>().Configure(configure).ValidateOnStart();
        services.AddMetrics();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WebSocketServerOptions>, WebSocketServerOptionsValidator>());
        services.TryAddSingleton<WebSocketServer>();
        services.TryAddSingleton<IWebSocketConnectionSet>(static sp => sp.GetRequiredService<WebSocketServer>());
        services.TryAddSingleton<WebSocketDrain>();
        services.TryAddSingleton<IWebSocketDrain>(static sp => sp.GetRequiredService<WebSocketDrain>());
        services.TryAddScoped<WebSocketConnectionAccessor>();
        services.TryAddScoped(static sp => sp.GetRequiredService<WebSocketConnectionAccessor>().Connection
            ?? throw new InvalidOperationException("WebSocketConnection is only available inside a MapWebSocket handler's request."));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, WebSocketShutdownService>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IWebSocketConnectionListener, AspNetWebSockets.Authentication.AuthenticationExpiryListener>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, WebSocketLifetimeLimiter>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<KestrelServerOptions>, WebSocketKestrelLimitsSetup>());

        // Kestrel asks the transport factories registered last first; this one declines unless lean connections apply.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConnectionListenerFactory, LeanTransportFactory>());
        return services;
    }
}
