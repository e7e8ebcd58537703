using Microsoft.AspNetCore.Hosting;
using AspNetWebSockets.Testing;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.TestHost;

namespace AspNetWebSockets.IntegrationTests;

/// <summary>Where the bytes between test client and server travel.</summary>
public enum TransportMode
{
    /// <summary>TestServer with the Testing package's in-memory upgrade (server reads the upgrade stream).</summary>
    InMemory,

    /// <summary>Kestrel on 127.0.0.1, server reading Kestrel's transport pipes directly.</summary>
    KestrelPipes,

    /// <summary>Kestrel on 127.0.0.1, server reading the upgrade stream.</summary>
    KestrelStream,

    /// <summary>Kestrel on 127.0.0.1 over the lean transport: the socket handed to the WebSocket after the upgrade.</summary>
    KestrelLean,
}

/// <summary>
/// A small app under test with its own endpoints, on TestServer or on Kestrel bound to a port the OS picks (Kestrel in the
/// event-loop mode in build/test.sh's second run: see <see cref="TestExecutionMode"/>).
/// </summary>
public sealed class TestApp : IAsyncDisposable
{
    private TestApp(WebApplication app, TransportMode mode)
    {
        App = app;
        Mode = mode;
    }

    public WebApplication App { get; }

    public TransportMode Mode { get; }

    public static TheoryData<TransportMode> AllModes => new(TransportMode.InMemory, TransportMode.KestrelPipes, TransportMode.KestrelStream, TransportMode.KestrelLean);

    /// <summary>The http:// base address (Kestrel modes only).</summary>
    public Uri HttpAddress => new(App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    public static async Task<TestApp> StartAsync(
        TransportMode mode,
        Action<WebApplication> map,
        Action<AspNetWebSockets.WebSocketServerOptions>? configure = null,
        Action<IServiceCollection>? services = null,
        Action<IWebHostBuilder>? host = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        if (mode == TransportMode.InMemory)
        {
            builder.WebHost.UseTestServer();
        }
        else
        {
            builder.WebHost.UseLoopbackKestrel();
        }

        host?.Invoke(builder.WebHost);

        builder.Logging.ClearProviders();
        builder.Services.AddWebSockets(o =>
        {
            o.UseTransportPipes = mode != TransportMode.KestrelStream;
            o.LeanConnections = mode == TransportMode.KestrelLean;
            configure?.Invoke(o);
        });
        services?.Invoke(builder.Services);
        WebApplication app = builder.Build();
        map(app);
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new TestApp(app, mode);
    }

    public Task<WebSocketConnection> ConnectAsync(string path, Action<WebSocketClientOptions>? configure = null) =>
        Mode == TransportMode.InMemory
            ? App.GetTestServer().ConnectWebSocketAsync(path, configure, TestContext.Current.CancellationToken)
            : WebSocketTestClient.ConnectAsync(new Uri(WebSocketAddress, path), configure, TestContext.Current.CancellationToken);

    public Uri WebSocketAddress => new UriBuilder(HttpAddress) { Scheme = "ws" }.Uri;

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await App.StopAsync(stop.Token);
        await App.DisposeAsync();
    }
}
