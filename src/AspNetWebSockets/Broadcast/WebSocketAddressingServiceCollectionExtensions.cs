using AspNetWebSockets;
using AspNetWebSockets.Broadcast;
using AspNetWebSockets.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers addressing and presence; called by <c>AddWebSocketGroups</c>.</summary>
internal static class WebSocketAddressingServiceCollectionExtensions
{
    /// <summary>
    /// The groups (wrapped so joins and leaves reach presence), the connection registry and its listener, the user id
    /// provider, the sender, and in-memory presence — each unless the application registered its own.
    /// </summary>
    public static void AddWebSocketAddressingAndPresence(this IServiceCollection services)
    {
        services.TryAddSingleton<WebSocketGroups>();
        services.TryAddSingleton<IWebSocketGroups, PresenceTrackingGroups>();
        services.TryAddSingleton<IWebSocketUserIdProvider, NameIdentifierUserIdProvider>();
        services.TryAddSingleton<InMemoryWebSocketPresence>();
        services.TryAddSingleton<IWebSocketPresence>(static sp => sp.GetRequiredService<InMemoryWebSocketPresence>());
        services.TryAddSingleton<IWebSocketPresenceTracker>(static sp => sp.GetRequiredService<InMemoryWebSocketPresence>());
        services.TryAddSingleton<WebSocketConnectionRegistry>();
        services.TryAddSingleton<IWebSocketSender, WebSocketSender>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IWebSocketConnectionListener, AddressingConnectionListener>());
    }
}
