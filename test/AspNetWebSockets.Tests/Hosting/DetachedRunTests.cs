using AspNetWebSockets.Hosting;
using AspNetWebSockets.Protocol;
using AspNetWebSockets.Transport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AspNetWebSockets.Tests.Hosting;

/// <summary>
/// A lean connection's run after its handler started (<c>WebSocketEndpointHandler.RunDetached</c>): while the handler
/// runs, the wait for its end costs the idle connection one delegate to its services object (no closure), and when the
/// handler ends the connection leaves the registry, its services are disposed and the server's count of detached runs
/// drops to zero.
/// </summary>
public sealed class DetachedRunTests
{
    [Fact]
    public async Task Waiting_for_the_handler_costs_one_delegate_and_its_end_releases_the_connection_and_its_services()
    {
        using var server = new WebSocketServer(Options.Create(new WebSocketServerOptions()), NullLoggerFactory.Instance, new NoMeters(), []);
        await using ServiceProvider root = new ServiceCollection().AddScoped<WebSocketConnectionAccessor>().BuildServiceProvider();

        // Once first, so the measured call loads and compiles nothing.
        (WebSocketConnection warmConnection, WebSocketConnectionServices warmServices) = Open(server, root, "warm-up");
        var warmHandler = new TaskCompletionSource();
        server.DetachedStarted(); // as the endpoint counts each run it detaches
        WebSocketEndpointHandler.RunDetached(server, warmHandler.Task, warmServices);
        warmConnection.Abort();
        warmHandler.SetResult();

        (WebSocketConnection connection, WebSocketConnectionServices services) = Open(server, root, "c1");
        Assert.NotNull(services.GetService(typeof(WebSocketConnectionAccessor))); // a scope of the connection's own
        var handler = new TaskCompletionSource();
        server.DetachedStarted();
        long before = GC.GetAllocatedBytesForCurrentThread();
        WebSocketEndpointHandler.RunDetached(server, handler.Task, services);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // One delegate (64 B on 64-bit); a closure over the run's four arguments cost 48 B more.
        Assert.InRange(allocated, 1, 8 * IntPtr.Size);
        Assert.Contains(connection, server.Connections);

        connection.Abort(); // so the run's close need not wait for a peer
        handler.SetResult();
        await server.WhenDetachedEndedAsync().WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.DoesNotContain(connection, server.Connections);
        Assert.Throws<ObjectDisposedException>(() => services.GetService(typeof(WebSocketConnectionAccessor)));
    }

    private static (WebSocketConnection Connection, WebSocketConnectionServices Services) Open(WebSocketServer server, IServiceProvider root, string id)
    {
        WebSocketConnectionSettings settings = server.ConnectionSettingsFor(new DecoderLimits(1000, 1000, 10), Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan, autoCork: false);
        var connection = new WebSocketConnection(new StreamTransport(new MemoryStream()), settings, new PerConnectionSettings { ConnectionId = id });
        return (connection, new WebSocketConnectionServices(root, connection));
    }
}
