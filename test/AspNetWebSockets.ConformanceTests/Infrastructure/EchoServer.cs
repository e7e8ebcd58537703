using System.Net;
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

    private WebApplication? _app;

    /// <summary>The port Kestrel listens on (127.0.0.1).</summary>
    public int Port { get; private set; }

    public async ValueTask InitializeAsync()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
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
        Port = new Uri(address).Port;
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
