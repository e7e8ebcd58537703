using AspNetWebSockets;
using AspNetWebSockets.Authentication;
using Microsoft.AspNetCore.Hosting.Server;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers browser-safe bearer tokens for WebSocket handshakes.</summary>
public static class WebSocketAccessTokenServiceCollectionExtensions
{
    private const string TestServerTypeName = "Microsoft.AspNetCore.TestHost.TestServer";

    /// <summary>
    /// Configures where <see cref="WebSocketAccessTokenExtensions.GetWebSocketAccessToken"/> looks for a token and wraps the
    /// already registered server (Kestrel) so a handshake's query-string token is taken out of the request before hosting,
    /// HTTP or W3C logging see it (they log <c>access_token=[redacted]</c>). Call it after the server is chosen (with
    /// <c>WebApplication.CreateBuilder</c>, anywhere on <c>builder.Services</c>); the app's authentication scheme still decides
    /// whether the token is valid. A TestServer is not wrapped (tests cast <c>IServer</c> to it).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets options, or null for the defaults (<c>access_token</c> query parameter, <c>access_token.</c> subprotocol prefix).</param>
    /// <returns>The service collection, for chaining.</returns>
    /// <exception cref="InvalidOperationException">No <see cref="IServer"/> is registered yet.</exception>
    public static IServiceCollection AddWebSocketAccessTokens(this IServiceCollection services, Action<WebSocketAccessTokenOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = new WebSocketAccessTokenOptions();
        configure?.Invoke(options);
        services.Configure<WebSocketAccessTokenOptions>(o =>
        {
            o.QueryParameter = options.QueryParameter;
            o.SubProtocolPrefix = options.SubProtocolPrefix;
        });
        if (options.QueryParameter is not { Length: > 0 } parameter)
        {
            return services;
        }

        int index = -1;
        for (int i = services.Count - 1; i >= 0 && index < 0; i--)
        {
            if (services[i].ServiceType == typeof(IServer))
            {
                index = i;
            }
        }

        if (index < 0)
        {
            throw new InvalidOperationException("No IServer is registered yet: call AddWebSocketAccessTokens after choosing the server (e.g. UseKestrel).");
        }

        ServiceDescriptor inner = services[index];
        if (inner.ImplementationFactory?.Target is RedactingFactory)
        {
            return services; // already wrapped
        }

        services[index] = ServiceDescriptor.Singleton<IServer>(new RedactingFactory(inner, parameter).Create);
        return services;
    }

    /// <summary>Builds the wrapped server from the original registration (type, factory or instance).</summary>
    private sealed class RedactingFactory(ServiceDescriptor inner, string parameter)
    {
        public IServer Create(IServiceProvider services)
        {
            object server = inner.ImplementationInstance
                ?? inner.ImplementationFactory?.Invoke(services)
                ?? ActivatorUtilities.CreateInstance(services, inner.ImplementationType!);
            // TestServer is left as it is: tests reach it by casting IServer (GetTestServer()). There the token still works,
            // only unredacted in hosting's logs.
            return server.GetType().FullName == TestServerTypeName
                ? (IServer)server
                : new WebSocketAccessTokenRedactingServer((IServer)server, parameter);
        }
    }
}
