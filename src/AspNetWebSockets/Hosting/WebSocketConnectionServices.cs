using Microsoft.Extensions.DependencyInjection;

namespace AspNetWebSockets.Hosting;

/// <summary>
/// The services of a lean connection, which outlives its request (and so the request's scope): the connection itself
/// at no cost, and for everything else a service scope of the connection's own, made on first use. A handler that
/// asks only for its <see cref="WebSocketConnection"/> and singletons never makes one (a scope with one resolved
/// service costs about 400 bytes per idle connection).
/// </summary>
internal sealed class WebSocketConnectionServices : IServiceProvider, IKeyedServiceProvider, IServiceProviderIsService, IAsyncDisposable
{
    private readonly IServiceScopeFactory _scopes;
    private readonly IServiceProviderIsService? _isService;
    private readonly WebSocketConnection _connection;
    private AsyncServiceScope? _scope;
    private int _disposed;

    /// <param name="requestServices">The request's services, whose scope factory and service catalogue this uses (not its scope).</param>
    /// <param name="connection">The connection.</param>
    public WebSocketConnectionServices(IServiceProvider requestServices, WebSocketConnection connection)
    {
        _scopes = requestServices.GetRequiredService<IServiceScopeFactory>();
        _isService = requestServices.GetService<IServiceProviderIsService>();
        _connection = connection;
    }

    public object? GetService(Type serviceType) =>
        serviceType == typeof(WebSocketConnection) ? _connection
        : serviceType == typeof(IServiceProvider) ? this
        : Scope.GetService(serviceType);

    public object? GetKeyedService(Type serviceType, object? serviceKey) => ((IKeyedServiceProvider)Scope).GetKeyedService(serviceType, serviceKey);

    public object GetRequiredKeyedService(Type serviceType, object? serviceKey) => Scope.GetRequiredKeyedService(serviceType, serviceKey);

    public bool IsService(Type serviceType) => serviceType == typeof(WebSocketConnection) || _isService?.IsService(serviceType) == true;

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        AsyncServiceScope? scope;
        lock (this)
        {
            scope = _scope;
        }

        return scope?.DisposeAsync() ?? ValueTask.CompletedTask;
    }

    private IServiceProvider Scope
    {
        get
        {
            lock (this)
            {
                ObjectDisposedException.ThrowIf(_disposed != 0, this);
                if (_scope is not { } scope)
                {
                    scope = _scopes.CreateAsyncScope();
                    scope.ServiceProvider.GetRequiredService<WebSocketConnectionAccessor>().Connection = _connection;
                    _scope = scope;
                }

                return scope.ServiceProvider;
            }
        }
    }
}
