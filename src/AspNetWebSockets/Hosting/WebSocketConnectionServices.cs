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
    private IServiceScope? _scope; // not an AsyncServiceScope?, which is a reference and a flag: 8 bytes more
    private int _disposed;

    // The connection's run after its handler ends (WebSocketEndpointHandler.RunDetached). The continuation on the
    // handler's task is a delegate to a method of this object, which lives as long as the connection anyway, rather than
    // a closure and a delegate: 48 bytes less per idle lean connection.
    private WebSocketServer? _server;
    private Task? _handler;

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

    /// <summary>
    /// Runs the rest of the connection's life (<see cref="WebSocketEndpointHandler.RunAsync"/>: the close, the slot, this
    /// scope) once <paramref name="handler"/> ends, without the caller's execution context.
    /// </summary>
    /// <param name="server">The server whose connection this is.</param>
    /// <param name="handler">The handler's task.</param>
    public void RunWhenHandlerEnds(WebSocketServer server, Task handler)
    {
        _server = server;
        _handler = handler;
        handler.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(OnHandlerEnded);
    }

    private void OnHandlerEnded() => _ = WebSocketEndpointHandler.RunAsync(_server!, _connection, _handler!, this);

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        IServiceScope? scope;
        lock (this)
        {
            scope = _scope;
        }

        return scope is null ? ValueTask.CompletedTask : new AsyncServiceScope(scope).DisposeAsync();
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
                    scope = _scopes.CreateScope(); // disposed as an AsyncServiceScope (DisposeAsync)
                    scope.ServiceProvider.GetRequiredService<WebSocketConnectionAccessor>().Connection = _connection;
                    _scope = scope;
                }

                return scope.ServiceProvider;
            }
        }
    }
}
