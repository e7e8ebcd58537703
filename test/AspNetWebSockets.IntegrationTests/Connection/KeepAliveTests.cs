namespace AspNetWebSockets.IntegrationTests.Connection;

/// <summary>Keep-alive pings with a timeout, with and without a pending receive on either side.</summary>
public sealed class KeepAliveTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static void Fast(WebSocketServerOptions o)
    {
        o.KeepAliveInterval = TimeSpan.FromMilliseconds(100);
        o.KeepAliveTimeout = TimeSpan.FromMilliseconds(400);
    }

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task Silent_peer_is_aborted_and_reported_as_1006(TransportMode mode)
    {
        var serverClosed = new TaskCompletionSource<WebSocketCloseInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
        {
            // The server app *is* reading; the peer never answers pings because it never reads.
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
            }

            serverClosed.SetResult(await socket.Closed);
        }), Fast);
        await using WebSocketConnection client = await app.ConnectAsync("/ws");

        WebSocketCloseInfo closed = await serverClosed.Task.WaitAsync(TimeSpan.FromSeconds(15), Ct);
        Assert.Equal(new WebSocketCloseInfo(1006, string.Empty, WasClean: false), closed);
    }

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task Live_peer_is_kept_while_the_server_app_is_not_reading(TransportMode mode)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        WebSocketConnection? server = null;
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
        {
            server = socket;
            await release.Task; // no receive pending on the server for the whole test
            await socket.CloseAsync(1000, "done");
        }), Fast);
        await using WebSocketConnection client = await app.ConnectAsync("/ws");

        // The client keeps a receive pending, so it answers the server's pings with pongs.
        Task<WebSocketMessage?> clientReceive = client.ReceiveAsync(Ct).AsTask();
        await Task.Delay(TimeSpan.FromSeconds(2), Ct); // five keep-alive timeouts

        Assert.NotNull(server);
        Assert.Equal(WebSocketReadyState.Open, server.ReadyState);
        release.SetResult();
        Assert.Null(await clientReceive.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        Assert.Equal(new WebSocketCloseInfo(1000, "done", WasClean: true), await client.Closed.WaitAsync(TimeSpan.FromSeconds(10), Ct));
    }
}
