using static AspNetWebSockets.IntegrationTests.Interop.ClientWebSocketInterop;

namespace AspNetWebSockets.IntegrationTests.Interop;

/// <summary>
/// Server keep-alive while the application leaves a received message unread: the peer keeps answering pings, so the
/// connection must survive until the application reads, and the message must arrive whole.
/// </summary>
public sealed class ClientWebSocketUnreadInputTests
{
    [Theory]
    [MemberData(nameof(KestrelModes), MemberType = typeof(ClientWebSocketInterop))]
    public Task Keepalive_survives_an_unread_message_below_the_inbound_buffer_limits(TransportMode mode) =>
        KeepAliveWithUnreadMessageAsync(mode, 32 * 1024);

    [Theory]
    [MemberData(nameof(KestrelModes), MemberType = typeof(ClientWebSocketInterop))]
    public Task Keepalive_survives_an_unread_message_above_the_inbound_buffer_limits(TransportMode mode) =>
        KeepAliveWithUnreadMessageAsync(mode, 1536 * 1024);

    /// <summary>
    /// The client sends a message the handler does not read for ~3 s while keep-alive runs; the client keeps answering
    /// pings. The connection must stay open and the message must then be read whole.
    /// </summary>
    private static async Task KeepAliveWithUnreadMessageAsync(TransportMode mode, int size)
    {
        var server = new TaskCompletionSource<WebSocketConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(
            mode,
            a => a.MapWebSocket("/busy", async (WebSocketConnection socket, CancellationToken ct) =>
            {
                server.SetResult(socket);
                await Task.WhenAny(release.Task, Task.Delay(Timeout.Infinite, ct)); // busy elsewhere, not reading
                await foreach (WebSocketMessage message in socket.ReadAllAsync())
                {
                    await socket.SendTextAsync(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(message.Data.Span)));
                }
            }),
            o =>
            {
                o.MaxMessageSize = 2 * 1024 * 1024;
                o.KeepAliveInterval = TimeSpan.FromMilliseconds(200);
                o.KeepAliveTimeout = TimeSpan.FromSeconds(1);
            });
        using ClientWebSocket client = await ConnectAsync(app, "/busy");
        using CancellationTokenSource bound = Bound(15);
        WebSocketConnection socket = await server.Task.WaitAsync(bound.Token);
        byte[] payload = new byte[size];
        Random.Shared.NextBytes(payload);

        await client.SendAsync(payload, WebSocketMessageType.Binary, endOfMessage: true, bound.Token).WaitAsync(TimeSpan.FromSeconds(5), bound.Token);
        Task<ClientMessage> pending = client.ReceiveMessageAsync(bound.Token); // answers the server's pings meanwhile
        await Task.Delay(TimeSpan.FromSeconds(3), bound.Token);

        Assert.False(socket.Closed.IsCompleted, "the server dropped a live peer whose message it had not read yet");
        Assert.Equal(WebSocketReadyState.Open, socket.ReadyState);
        release.SetResult();
        ClientMessage digest = await pending.WaitAsync(TimeSpan.FromSeconds(5), bound.Token);
        Assert.Equal(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(payload)), digest.Text);
        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, null, bound.Token);
        Assert.Equal(WebSocketState.Closed, client.State);
    }
}
