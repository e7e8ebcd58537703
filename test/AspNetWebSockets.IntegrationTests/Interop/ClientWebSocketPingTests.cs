using static AspNetWebSockets.IntegrationTests.Interop.ClientWebSocketInterop;

namespace AspNetWebSockets.IntegrationTests.Interop;

/// <summary>
/// ClientWebSocket's own ping/pong keep-alive (.NET 9+ <see cref="ClientWebSocketOptions.KeepAliveTimeout"/>) against the
/// server: the server must answer the client's pings with pongs in time.
/// </summary>
public sealed class ClientWebSocketPingTests
{
    [Theory]
    [MemberData(nameof(KestrelModes), MemberType = typeof(ClientWebSocketInterop))]
    public async Task ClientWebSocket_keepalive_pings_are_answered_while_the_server_handler_reads(TransportMode mode)
    {
        var server = new TaskCompletionSource<WebSocketConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(
            mode,
            a => a.MapWebSocket("/reading", async (WebSocketConnection socket) =>
            {
                server.SetResult(socket);
                await foreach (WebSocketMessage _ in socket.ReadAllAsync())
                {
                }
            }),
            o => o.KeepAliveInterval = Timeout.InfiniteTimeSpan); // only the client pings
        using ClientWebSocket client = await ConnectAsync(app, "/reading", ClientPings);
        using CancellationTokenSource bound = Bound(15);
        WebSocketConnection socket = await server.Task.WaitAsync(bound.Token);
        Task<ClientMessage> pending = client.ReceiveMessageAsync(bound.Token);

        await Task.Delay(TimeSpan.FromSeconds(3), bound.Token); // ~15 client pings, each needing a pong within 1 s

        Assert.False(pending.IsCompleted, $"the client's receive ended: {(pending.IsFaulted ? pending.Exception!.InnerException : null)}");
        Assert.Equal(WebSocketState.Open, client.State);
        Assert.Equal(WebSocketReadyState.Open, socket.ReadyState);
        await client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", bound.Token);
        ClientMessage close = await pending;
        Assert.Equal(WebSocketMessageType.Close, close.Type);
        Assert.Equal(WebSocketState.Closed, client.State);
        Assert.Equal(new WebSocketCloseInfo(1000, "done", WasClean: true), await socket.Closed.WaitAsync(bound.Token));
    }

    /// <summary>
    /// A push-only handler never receives: the server's control reader answers the pings at the head of the input on the
    /// shared heartbeat tick (1 s with the server's own keep-alive off), so the client's timeout here is 3 s, and the test
    /// runs past two of them: without the answers the client would abort.
    /// </summary>
    [Theory]
    [MemberData(nameof(KestrelModes), MemberType = typeof(ClientWebSocketInterop))]
    public async Task ClientWebSocket_keepalive_pings_are_answered_while_the_server_handler_is_not_reading(TransportMode mode)
    {
        var server = new TaskCompletionSource<WebSocketConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(
            mode,
            a => a.MapWebSocket("/push-only", async (WebSocketConnection socket, CancellationToken ct) =>
            {
                server.SetResult(socket);
                await Task.WhenAny(release.Task, Task.Delay(Timeout.Infinite, ct));
            }),
            o => o.KeepAliveInterval = Timeout.InfiniteTimeSpan);
        using ClientWebSocket client = await ConnectAsync(app, "/push-only", ClientPingsBeyondATick);
        using CancellationTokenSource bound = Bound(40);
        WebSocketConnection socket = await server.Task.WaitAsync(bound.Token);
        Task<ClientMessage> pending = client.ReceiveMessageAsync(bound.Token);

        await Task.Delay(TimeSpan.FromSeconds(7), bound.Token); // ~35 client pings, each needing a pong within 3 s

        Assert.False(pending.IsCompleted, $"the client's receive ended: {(pending.IsFaulted ? pending.Exception!.InnerException : null)}");
        Assert.Equal(WebSocketState.Open, client.State);
        Assert.Equal(WebSocketReadyState.Open, socket.ReadyState);
        release.SetResult();
        ClientMessage close = await pending;
        Assert.Equal(WebSocketCloseStatus.NormalClosure, close.CloseStatus);
        await client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, bound.Token);
        Assert.Equal(WebSocketState.Closed, client.State);
    }

    /// <summary>ClientWebSocket's own ping/pong keep-alive (.NET 9+): a ping every 200 ms, abort without a pong within 1 s.</summary>
    private static void ClientPings(ClientWebSocketOptions options)
    {
        options.KeepAliveInterval = TimeSpan.FromMilliseconds(200);
        options.KeepAliveTimeout = TimeSpan.FromSeconds(1);
    }

    /// <summary>As <see cref="ClientPings"/>, with a timeout beyond the server's heartbeat tick (which bounds the answer when the handler does not read).</summary>
    private static void ClientPingsBeyondATick(ClientWebSocketOptions options)
    {
        options.KeepAliveInterval = TimeSpan.FromMilliseconds(200);
        options.KeepAliveTimeout = TimeSpan.FromSeconds(3);
    }
}
