namespace AspNetWebSockets.Tests.Hosting;

/// <summary>A meter factory for a <see cref="AspNetWebSockets.Hosting.WebSocketServer"/> built by hand: plain meters, nobody listening.</summary>
internal sealed class NoMeters : System.Diagnostics.Metrics.IMeterFactory
{
    public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options) => new(options);

    public void Dispose()
    {
    }
}
