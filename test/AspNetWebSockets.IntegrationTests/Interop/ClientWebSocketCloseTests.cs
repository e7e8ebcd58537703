using static AspNetWebSockets.IntegrationTests.Interop.ClientWebSocketInterop;

namespace AspNetWebSockets.IntegrationTests.Interop;

/// <summary>The close handshake (RFC 6455 §7) in both directions, and abort, between <see cref="ClientWebSocket"/> and the server.</summary>
public sealed class ClientWebSocketCloseTests
{
    [Theory]
    [MemberData(nameof(KestrelModes), MemberType = typeof(ClientWebSocketInterop))]
    public async Task Client_close_with_code_and_reason_reaches_the_server_and_ends_its_read_loop(TransportMode mode)
    {
        var server = new TaskCompletionSource<WebSocketConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        var loopEnded = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
        {
            server.SetResult(socket);
            int count = 0;
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                count++;
                await socket.SendAsync(message.Data, message.Type);
            }

            loopEnded.SetResult(count);
        }));
        using ClientWebSocket client = await ConnectAsync(app, "/ws");
        using CancellationTokenSource bound = Bound();
        WebSocketConnection socket = await server.Task.WaitAsync(bound.Token);

        await client.SendAsync("ping-pong"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, bound.Token);
        Assert.Equal("ping-pong", (await client.ReceiveMessageAsync(bound.Token)).Text);
        await client.CloseAsync((WebSocketCloseStatus)4001, "bye", bound.Token);

        Assert.Equal(new WebSocketCloseInfo(4001, "bye", WasClean: true), await socket.Closed.WaitAsync(bound.Token));
        Assert.Equal(1, await loopEnded.Task.WaitAsync(bound.Token));
        Assert.Equal(WebSocketReadyState.Closed, socket.ReadyState);
        Assert.Equal(WebSocketState.Closed, client.State);
        Assert.Equal((WebSocketCloseStatus)4001, client.CloseStatus); // the server echoes the code (§5.5.1)
    }

    [Theory]
    [MemberData(nameof(KestrelModes), MemberType = typeof(ClientWebSocketInterop))]
    public async Task Server_close_with_code_and_reason_reaches_ClientWebSocket(TransportMode mode)
    {
        var server = new TaskCompletionSource<WebSocketConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        var closeReturned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
        {
            server.SetResult(socket);
            await socket.CloseAsync(4002, "server bye");
            closeReturned.SetResult();
        }));
        using ClientWebSocket client = await ConnectAsync(app, "/ws");
        using CancellationTokenSource bound = Bound();
        WebSocketConnection socket = await server.Task.WaitAsync(bound.Token);

        ClientMessage close = await client.ReceiveMessageAsync(bound.Token);

        Assert.Equal(WebSocketMessageType.Close, close.Type);
        Assert.Equal((WebSocketCloseStatus)4002, close.CloseStatus);
        Assert.Equal("server bye", close.CloseDescription);
        Assert.Equal((WebSocketCloseStatus)4002, client.CloseStatus);
        Assert.Equal("server bye", client.CloseStatusDescription);
        Assert.Equal(WebSocketState.CloseReceived, client.State);
        Assert.Equal(WebSocketReadyState.Closing, socket.ReadyState);

        await client.CloseOutputAsync((WebSocketCloseStatus)4002, null, bound.Token); // echo the code, completing the handshake

        Assert.Equal(WebSocketState.Closed, client.State);
        await closeReturned.Task.WaitAsync(bound.Token);
        WebSocketCloseInfo closed = await socket.Closed.WaitAsync(bound.Token);
        Assert.Equal(4002, closed.Code);
        Assert.True(closed.WasClean);
    }

    [Theory]
    [MemberData(nameof(KestrelModes), MemberType = typeof(ClientWebSocketInterop))]
    public async Task Handler_that_returns_closes_with_1000(TransportMode mode)
    {
        var server = new TaskCompletionSource<WebSocketConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
        {
            server.SetResult(socket);
            await socket.SendTextAsync("last words");
        }));
        using ClientWebSocket client = await ConnectAsync(app, "/ws");
        using CancellationTokenSource bound = Bound();
        WebSocketConnection socket = await server.Task.WaitAsync(bound.Token);

        Assert.Equal("last words", (await client.ReceiveMessageAsync(bound.Token)).Text);
        ClientMessage close = await client.ReceiveMessageAsync(bound.Token);

        Assert.Equal(WebSocketMessageType.Close, close.Type);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, close.CloseStatus);
        await client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, bound.Token);
        Assert.Equal(WebSocketState.Closed, client.State);
        Assert.Equal(new WebSocketCloseInfo(1000, string.Empty, WasClean: true), await socket.Closed.WaitAsync(bound.Token));
    }

    [Theory]
    [MemberData(nameof(KestrelModes), MemberType = typeof(ClientWebSocketInterop))]
    public async Task Handler_that_throws_closes_with_1011_without_exception_details(TransportMode mode)
    {
        const string Secret = "connection string Password=hunter2";
        var server = new TaskCompletionSource<WebSocketConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
        {
            server.SetResult(socket);
            await socket.SendTextAsync("about to fail");
            throw new InvalidOperationException(Secret);
        }));
        using ClientWebSocket client = await ConnectAsync(app, "/ws");
        using CancellationTokenSource bound = Bound();
        WebSocketConnection socket = await server.Task.WaitAsync(bound.Token);

        Assert.Equal("about to fail", (await client.ReceiveMessageAsync(bound.Token)).Text);
        ClientMessage close = await client.ReceiveMessageAsync(bound.Token);

        Assert.Equal(WebSocketMessageType.Close, close.Type);
        Assert.Equal(WebSocketCloseStatus.InternalServerError, close.CloseStatus);
        string description = close.CloseDescription ?? string.Empty;
        Assert.DoesNotContain("hunter2", description, StringComparison.Ordinal);
        Assert.DoesNotContain("Password", description, StringComparison.Ordinal);
        Assert.DoesNotContain(nameof(InvalidOperationException), description, StringComparison.Ordinal);
        await client.CloseOutputAsync(WebSocketCloseStatus.InternalServerError, null, bound.Token);
        Assert.Equal(WebSocketState.Closed, client.State);
        WebSocketCloseInfo closed = await socket.Closed.WaitAsync(bound.Token);
        Assert.Equal(1011, closed.Code);
        Assert.True(closed.WasClean);
    }

    [Theory]
    [MemberData(nameof(KestrelModes), MemberType = typeof(ClientWebSocketInterop))]
    public async Task Client_close_output_then_server_close_completes_the_handshake(TransportMode mode)
    {
        var server = new TaskCompletionSource<WebSocketConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        var loopEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
        {
            server.SetResult(socket);
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                await socket.SendAsync(message.Data, message.Type);
            }

            loopEnded.SetResult();
        }));
        using ClientWebSocket client = await ConnectAsync(app, "/ws");
        using CancellationTokenSource bound = Bound();
        WebSocketConnection socket = await server.Task.WaitAsync(bound.Token);

        await client.SendAsync("hi"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, bound.Token);
        Assert.Equal("hi", (await client.ReceiveMessageAsync(bound.Token)).Text);
        await client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "client done", bound.Token);
        Assert.Equal(WebSocketState.CloseSent, client.State);

        ClientMessage close = await client.ReceiveMessageAsync(bound.Token);

        Assert.Equal(WebSocketMessageType.Close, close.Type);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, close.CloseStatus);
        Assert.Equal(WebSocketState.Closed, client.State);
        await loopEnded.Task.WaitAsync(bound.Token);
        Assert.Equal(new WebSocketCloseInfo(1000, "client done", WasClean: true), await socket.Closed.WaitAsync(bound.Token));
    }

    [Theory]
    [MemberData(nameof(KestrelModes), MemberType = typeof(ClientWebSocketInterop))]
    public async Task Server_abort_ends_the_clients_pending_receive(TransportMode mode)
    {
        var server = new TaskCompletionSource<WebSocketConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        var abort = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", async (WebSocketConnection socket, CancellationToken ct) =>
        {
            server.SetResult(socket);
            await abort.Task.WaitAsync(ct);
            socket.Abort();
        }));
        using ClientWebSocket client = await ConnectAsync(app, "/ws");
        using CancellationTokenSource bound = Bound();
        WebSocketConnection socket = await server.Task.WaitAsync(bound.Token);

        Task<ClientMessage> pending = client.ReceiveMessageAsync(bound.Token);
        await Task.Delay(100, bound.Token);
        Assert.False(pending.IsCompleted);
        abort.SetResult();

        ClientMessage? ended = null;
        Exception? failure = await Record.ExceptionAsync(async () => ended = await pending.WaitAsync(TimeSpan.FromSeconds(5), bound.Token));

        if (failure is null)
        {
            Assert.Equal(WebSocketMessageType.Close, ended?.Type);
        }
        else
        {
            Assert.IsType<WebSocketException>(failure);
        }

        Assert.Contains(client.State, new[] { WebSocketState.Aborted, WebSocketState.Closed });
        Assert.Equal(new WebSocketCloseInfo(1006, string.Empty, WasClean: false), await socket.Closed.WaitAsync(bound.Token));
    }

    [Theory]
    [MemberData(nameof(KestrelModes), MemberType = typeof(ClientWebSocketInterop))]
    public async Task Host_shutdown_closes_ClientWebSocket_with_1001(TransportMode mode)
    {
        var server = new TaskCompletionSource<WebSocketConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
        {
            server.SetResult(socket);
            await foreach (WebSocketMessage _ in socket.ReadAllAsync())
            {
            }
        }));
        await using (app)
        {
            using ClientWebSocket client = await ConnectAsync(app, "/ws");
            using CancellationTokenSource bound = Bound();
            WebSocketConnection socket = await server.Task.WaitAsync(bound.Token);
            Task<ClientMessage> pending = client.ReceiveMessageAsync(bound.Token);

            Task stopping = app.App.StopAsync(bound.Token);
            ClientMessage close = await pending;
            Assert.Equal(WebSocketMessageType.Close, close.Type);
            Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, close.CloseStatus); // 1001
            await client.CloseOutputAsync(WebSocketCloseStatus.EndpointUnavailable, null, bound.Token);
            await stopping;

            Assert.Equal(WebSocketState.Closed, client.State);
            WebSocketCloseInfo closed = await socket.Closed.WaitAsync(bound.Token);
            Assert.Equal(1001, closed.Code);
            Assert.True(closed.WasClean);
        }
    }
}
