using Microsoft.Extensions.Hosting;

namespace AspNetWebSockets.Hosting;

/// <summary>
/// Drains (<see cref="WebSocketDrain"/>) when the host stops: 1001 to every open connection, spread over
/// <see cref="WebSocketDrainOptions.Window"/> (all at once by default). It starts on <c>ApplicationStopping</c>, which fires
/// before any hosted service (including the web server) stops, so handlers see the close and return while Kestrel is
/// still draining; <see cref="StopAsync"/> then waits, bounded by the window plus
/// <see cref="WebSocketServerOptions.ShutdownTimeout"/> — and, if the host's own shutdown timeout runs out first, closes the
/// connections not yet closed at once.
/// </summary>
internal sealed class WebSocketShutdownService : IHostedService
{
    private readonly WebSocketDrain _drain;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly CancellationTokenSource _hurry = new();
    private CancellationTokenRegistration _registration;
    private Task? _closing;

    public WebSocketShutdownService(WebSocketDrain drain, IHostApplicationLifetime lifetime)
    {
        _drain = drain;
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
        await using CancellationTokenRegistration hurry = cancellationToken.Register(static state => ((CancellationTokenSource)state!).Cancel(), _hurry);
        await _closing!.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private void BeginClosing()
    {
        lock (this)
        {
            _closing ??= _drain.DrainForShutdownAsync(_hurry.Token);
        }
    }
}
