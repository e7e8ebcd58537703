using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace AspNetWebSockets.ConformanceTests.Infrastructure;

/// <summary>
/// The server under test, shared by the whole assembly: Kestrel on 127.0.0.1 with a port the OS picks, and two echo
/// endpoints that send text back as text and binary as binary.
/// </summary>
public sealed class EchoServer : IAsyncLifetime
{
    /// <summary>Echo endpoint with <see cref="MaxMessageSize"/> (16 MiB).</summary>
    public const string EchoPath = "/echo";

    /// <summary>Echo endpoint limited to <see cref="LimitedMaxMessageSize"/> bytes with <c>.WithMaxMessageSize</c>.</summary>
    public const string LimitedPath = "/limited";

    public const long MaxMessageSize = 16 * 1024 * 1024;

    public const long LimitedMaxMessageSize = 1024;

    public const int MaxFragmentsPerMessage = 1000;

    /// <summary>
    /// How long one frame (and the handshake, and the TCP close after the close handshake) may take to arrive: a
    /// conforming server on loopback answers at once, so a longer wait is a hang and fails the test.
    /// </summary>
    public static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);

    private WebApplication? _app;

    /// <summary>The address Kestrel listens on: http://127.0.0.1 and a port the OS picked.</summary>
    public Uri HttpAddress { get; private set; } = null!;

    /// <summary>The started server's services (for the execution-mode guard).</summary>
    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("The server has not started.");

    /// <summary>Opens a raw client on <paramref name="path"/>, handshake done, reads bounded by <see cref="ReadTimeout"/>.</summary>
    internal Task<RawWebSocketClient> ConnectAsync(string path = EchoPath) =>
        RawWebSocketClient.ConnectAsync(HttpAddress, path, readTimeout: ReadTimeout);

    public async ValueTask InitializeAsync()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseLoopbackKestrel();
        builder.Logging.ClearProviders();
        builder.Services.AddWebSockets(o =>
        {
            o.MaxMessageSize = MaxMessageSize;
            o.MaxFragmentsPerMessage = MaxFragmentsPerMessage;
        });
        WebApplication app = builder.Build();
        app.MapWebSocket(EchoPath, EchoAsync);
        app.MapWebSocket(LimitedPath, EchoAsync).WithMaxMessageSize(LimitedMaxMessageSize);
        await app.StartAsync();
        _app = app;
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        HttpAddress = new Uri(address);
    }

    private static async Task EchoAsync(WebSocketConnection socket, CancellationToken closed)
    {
        await foreach (WebSocketMessage message in socket.ReadAllAsync(closed))
        {
            await socket.SendAsync(message.Data, message.Type, closed);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _app.StopAsync(stop.Token);
            await _app.DisposeAsync();
        }
    }
}
