using Microsoft.Extensions.Hosting;

namespace AspNetWebSockets.Hosting;

/// <summary>
/// Closes every open connection with 1001 when the host stops. It starts on <c>ApplicationStopping</c>, which fires
/// before any hosted service (including the web server) stops, so handlers see the close and return while Kestrel
/// is still draining; <see cref="StopAsync"/> then waits, bounded by <see cref="WebSocketServerOptions.ShutdownTimeout"/>.
/// </summary>
internal sealed class WebSocketShutdownService : IHostedService
{
    private readonly WebSocketServer _server;
    private readonly IHostApplicationLifetime _lifetime;
    private CancellationTokenRegistration _registration;
    private Task? _closing;

    public WebSocketShutdownService(WebSocketServer server, IHostApplicationLifetime lifetime)
    {
        _server = server;
        _lifetime = lifetime;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _registration = _lifetime.ApplicationStopping.Register(static state => ((WebSocketShutdownService)state!).BeginClosing(), this);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _registration.DisposeAsync().ConfigureAwait(false);
        BeginClosing();
        await _closing!.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private void BeginClosing()
    {
        lock (this)
        {
            _closing ??= _server.CloseAllAsync(_server.Options.ShutdownTimeout);
        }
    }
}
