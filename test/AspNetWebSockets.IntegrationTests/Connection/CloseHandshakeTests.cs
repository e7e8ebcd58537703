namespace AspNetWebSockets.IntegrationTests.Connection;

/// <summary>RFC 6455 §7 close handshake as the browser's CloseEvent reports it, over every transport.</summary>
public sealed class CloseHandshakeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<T> Within<T>(Task<T> task) => task.WaitAsync(TimeSpan.FromSeconds(15), Ct);

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task Handler_that_returns_closes_with_1000(TransportMode mode)
    {
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", () => Task.CompletedTask));
        await using WebSocketConnection client = await app.ConnectAsync("/ws");

        Assert.Null(await client.ReceiveAsync(Ct));
        Assert.Equal(new WebSocketCloseInfo(1000, string.Empty, WasClean: true), await Within(client.Closed));
        Assert.Equal(WebSocketReadyState.Closed, client.ReadyState);
    }

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task Handler_that_throws_closes_with_1011_without_exception_details(TransportMode mode)
    {
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", (Func<Task>)(() => throw new InvalidOperationException("secret detail"))));
        await using WebSocketConnection client = await app.ConnectAsync("/ws");

        Assert.Null(await client.ReceiveAsync(Ct));
        WebSocketCloseInfo closed = await Within(client.Closed);
        Assert.Equal(WebSocketCloseCode.InternalServerError, closed.Code);
        Assert.DoesNotContain("secret", closed.Reason, StringComparison.Ordinal);
        Assert.True(closed.WasClean);
    }

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task Client_close_code_and_reason_reach_the_server(TransportMode mode)
    {
        var serverClosed = new TaskCompletionSource<WebSocketCloseInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
        {
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
            }

            serverClosed.SetResult(await socket.Closed);
        }));
        await using WebSocketConnection client = await app.ConnectAsync("/ws");

        await client.CloseAsync(4000, "bye ✓", Ct);

        Assert.Equal(new WebSocketCloseInfo(4000, "bye ✓", WasClean: true), await Within(serverClosed.Task));
        Assert.Equal(new WebSocketCloseInfo(4000, "bye ✓", WasClean: true), await Within(client.Closed)); // the echo carries code and reason
    }

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task Server_close_code_and_reason_reach_the_client(TransportMode mode)
    {
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", (WebSocketConnection socket) => socket.CloseAsync(4001, "server bye")));
        await using WebSocketConnection client = await app.ConnectAsync("/ws");

        Assert.Null(await client.ReceiveAsync(Ct));
        Assert.Equal(new WebSocketCloseInfo(4001, "server bye", WasClean: true), await Within(client.Closed));
    }

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task Server_abort_is_reported_to_the_client_as_1006(TransportMode mode)
    {
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
        {
            // Abort only once the client is surely past its handshake, or a reset could beat the 101 response.
            using WebSocketMessage? request = await socket.ReceiveAsync();
            socket.Abort();
        }));
        await using WebSocketConnection client = await app.ConnectAsync("/ws");
        await client.SendTextAsync("abort me", Ct);

        Assert.Null(await client.ReceiveAsync(Ct));
        Assert.Equal(new WebSocketCloseInfo(1006, string.Empty, WasClean: false), await Within(client.Closed));
    }

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task Client_abort_is_reported_to_the_server_as_1006_and_cancels_the_handler_token(TransportMode mode)
    {
        var serverClosed = new TaskCompletionSource<WebSocketCloseInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        var opened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", async (WebSocketConnection socket, CancellationToken aborted) =>
        {
            opened.SetResult();
            await Task.Delay(Timeout.Infinite, aborted).ContinueWith(_ => { }, TaskScheduler.Default); // ends only when the connection closes
            serverClosed.SetResult(await socket.Closed);
        }));
        WebSocketConnection client = await app.ConnectAsync("/ws");
        await Within(opened.Task.ContinueWith(_ => 0, TaskScheduler.Default));

        client.Abort();

        WebSocketCloseInfo closed = await Within(serverClosed.Task);
        Assert.Equal(1006, closed.Code);
        Assert.False(closed.WasClean);
    }

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task Host_shutdown_closes_open_connections_with_1001(TransportMode mode)
    {
        TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
        {
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                await socket.SendAsync(message.Data, message.Type);
            }
        }));
        await using WebSocketConnection client = await app.ConnectAsync("/ws");
        await client.SendTextAsync("ping", Ct);
        using (WebSocketMessage? echo = await client.ReceiveAsync(Ct))
        {
            Assert.Equal("ping", echo?.GetText());
        }

        Task<WebSocketMessage?> pending = client.ReceiveAsync(Ct).AsTask();
        await app.DisposeAsync();

        Assert.Null(await Within(pending));
        WebSocketCloseInfo closed = await Within(client.Closed);
        Assert.Equal(WebSocketCloseCode.GoingAway, closed.Code);
        Assert.True(closed.WasClean);
    }

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task Close_timeout_aborts_a_peer_that_never_answers_the_close(TransportMode mode)
    {
        var serverClosed = new TaskCompletionSource<WebSocketCloseInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(
            mode,
            a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
            {
                await socket.CloseAsync(1000, null);
                serverClosed.SetResult(await socket.Closed);
            }),
            o => o.CloseTimeout = TimeSpan.FromMilliseconds(300));
        await using WebSocketConnection client = await app.ConnectAsync("/ws"); // never reads, so never answers the close

        WebSocketCloseInfo closed = await Within(serverClosed.Task);
        Assert.Equal(new WebSocketCloseInfo(1006, string.Empty, WasClean: false), closed);
    }

    [Fact]
    public async Task Invalid_close_arguments_throw_before_anything_is_sent()
    {
        await using TestApp app = await TestApp.StartAsync(TransportMode.InMemory, a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
        {
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                await socket.SendAsync(message.Data, message.Type);
            }
        }));
        await using WebSocketConnection client = await app.ConnectAsync("/ws");

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.CloseAsync(1005, null, Ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.CloseAsync(999, null, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => client.CloseAsync(1000, new string('x', 124), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => client.CloseAsync(1000, "\ud800", Ct));

        // Still open and usable afterwards.
        Assert.Equal(WebSocketReadyState.Open, client.ReadyState);
        await client.SendTextAsync("still open", Ct);
        using WebSocketMessage? echo = await client.ReceiveAsync(Ct);
        Assert.Equal("still open", echo?.GetText());
        Assert.Equal(0, client.BufferedAmount);
    }

    [Fact]
    public async Task Sending_after_close_throws_InvalidState()
    {
        await using TestApp app = await TestApp.StartAsync(TransportMode.InMemory, a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
        {
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
            }
        }));
        await using WebSocketConnection client = await app.ConnectAsync("/ws");
        await client.CloseAsync(1000, null, Ct);

        WebSocketException error = await Assert.ThrowsAsync<WebSocketException>(() => client.SendTextAsync("late", Ct).AsTask());
        Assert.Equal(WebSocketError.InvalidState, error.WebSocketErrorCode);
    }
}
