using AspNetWebSockets.Hosting;
using AspNetWebSockets.Protocol;
using AspNetWebSockets.Transport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AspNetWebSockets.Tests.Hosting;

/// <summary>
/// The server's connections are the heartbeat's registry (one list, not two): a server connection is listed from its
/// creation until the server unregisters it (its handler ended), even after it closed; a connection whose settings do
/// not say so leaves when it closes.
/// </summary>
public sealed class ConnectionRegistryTests
{
    [Fact]
    public async Task A_server_connection_is_counted_from_creation_until_the_server_unregisters_it()
    {
        using var server = new WebSocketServer(Options.Create(new WebSocketServerOptions()), NullLoggerFactory.Instance, new NoMeters(), []);
        WebSocketConnectionSettings settings = server.ConnectionSettingsFor(new DecoderLimits(1000, 1000, 10), Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan, autoCork: false);
        await using var connection = new WebSocketConnection(new StreamTransport(new MemoryStream()), settings, new PerConnectionSettings { ConnectionId = "c1" });

        Assert.Equal(1, server.ConnectionCount);
        Assert.Same(connection, Assert.Single(server.Connections));

        connection.Abort();
        Assert.Equal(WebSocketReadyState.Closed, connection.ReadyState);
        Assert.Equal(1, server.ConnectionCount); // closed, but the server is not done with it yet

        server.Unregister(connection);
        Assert.Equal(0, server.ConnectionCount);
        Assert.Empty(server.Connections);
    }

    [Fact]
    public async Task A_connection_on_a_heartbeat_alone_leaves_the_registry_when_it_closes()
    {
        using var heartbeat = new WebSocketHeartbeat(TimeSpan.FromSeconds(1));
        await using var peer = new AspNetWebSockets.Tests.Connection.InMemoryPeer(heartbeat: heartbeat);

        Assert.Equal(1, heartbeat.Count);

        peer.Connection.Abort();

        Assert.Equal(0, heartbeat.Count);
    }
}
