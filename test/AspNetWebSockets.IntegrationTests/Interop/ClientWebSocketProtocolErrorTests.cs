using static AspNetWebSockets.IntegrationTests.Interop.ClientWebSocketInterop;

namespace AspNetWebSockets.IntegrationTests.Interop;

/// <summary>What <see cref="ClientWebSocket"/> sees when what it sends breaks the server's rules: the server fails the connection with the right code.</summary>
public sealed class ClientWebSocketProtocolErrorTests
{
    private static void MapLimitedEcho(WebApplication app, TaskCompletionSource<WebSocketCloseInfo> closed) =>
        app.MapWebSocket("/limited", async (WebSocketConnection socket) =>
        {
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                await socket.SendAsync(message.Data, message.Type);
            }

            closed.SetResult(await socket.Closed);
        }).WithMaxMessageSize(1000);

    [Theory]
    [MemberData(nameof(KestrelModes), MemberType = typeof(ClientWebSocketInterop))]
    public async Task Message_over_the_endpoint_limit_is_refused_with_1009(TransportMode mode)
    {
        var closed = new TaskCompletionSource<WebSocketCloseInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(mode, a => MapLimitedEcho(a, closed));
        using ClientWebSocket client = await ConnectAsync(app, "/limited");
        using CancellationTokenSource bound = Bound();

        await client.SendAsync(new byte[1000], WebSocketMessageType.Binary, endOfMessage: true, bound.Token);
        Assert.Equal(1000, (await client.ReceiveMessageAsync(bound.Token)).Data.Length); // exactly the limit is fine
        await client.SendAsync(new byte[1001], WebSocketMessageType.Binary, endOfMessage: true, bound.Token);
        ClientMessage close = await client.ReceiveMessageAsync(bound.Token);

        Assert.Equal(WebSocketMessageType.Close, close.Type);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, close.CloseStatus);
        Assert.Equal(WebSocketState.CloseReceived, client.State);
        Assert.Equal(1009, (await closed.Task.WaitAsync(bound.Token)).Code);
    }

    [Theory]
    [MemberData(nameof(KestrelModes), MemberType = typeof(ClientWebSocketInterop))]
    public async Task Fragmented_message_over_the_endpoint_limit_is_refused_with_1009(TransportMode mode)
    {
        var closed = new TaskCompletionSource<WebSocketCloseInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(mode, a => MapLimitedEcho(a, closed));
        using ClientWebSocket client = await ConnectAsync(app, "/limited");
        using CancellationTokenSource bound = Bound();

        // Each fragment is within the limit; together they are not.
        await client.SendAsync(new byte[600], WebSocketMessageType.Binary, endOfMessage: false, bound.Token);
        await client.SendAsync(new byte[600], WebSocketMessageType.Binary, endOfMessage: true, bound.Token);
        ClientMessage close = await client.ReceiveMessageAsync(bound.Token);

        Assert.Equal(WebSocketMessageType.Close, close.Type);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, close.CloseStatus);
        Assert.Equal(1009, (await closed.Task.WaitAsync(bound.Token)).Code);
    }

    [Theory]
    [MemberData(nameof(KestrelModes), MemberType = typeof(ClientWebSocketInterop))]
    public async Task Invalid_utf8_in_a_text_message_is_refused_with_1007(TransportMode mode)
    {
        var closed = new TaskCompletionSource<WebSocketCloseInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(mode, a => MapLimitedEcho(a, closed));
        using ClientWebSocket client = await ConnectAsync(app, "/limited");
        using CancellationTokenSource bound = Bound();

        // ClientWebSocket does not validate what it sends, so it can put a broken sequence (C3 28) in a text frame.
        await client.SendAsync(new byte[] { 0x61, 0xC3, 0x28 }, WebSocketMessageType.Text, endOfMessage: true, bound.Token);
        ClientMessage close = await client.ReceiveMessageAsync(bound.Token);

        Assert.Equal(WebSocketMessageType.Close, close.Type);
        Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, close.CloseStatus);
        Assert.Equal(1007, (await closed.Task.WaitAsync(bound.Token)).Code);
    }
}
