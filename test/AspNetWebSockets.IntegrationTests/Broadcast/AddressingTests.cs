using System.Security.Claims;

namespace AspNetWebSockets.IntegrationTests.Broadcast;

/// <summary><see cref="IWebSocketSender"/> on one node: every target kind, every payload kind, and order per sender.</summary>
public sealed class AddressingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task Each_target_kind_reaches_exactly_its_addressees(TransportMode mode)
    {
        await using AddressingApp app = await AddressingApp.StartAsync(mode);
        var (alice1, alice1Server) = await app.ConnectAsync("alice", "room");
        var (alice2, _) = await app.ConnectAsync("alice");
        var (bob, bobServer) = await app.ConnectAsync("bob", "room");
        var (anonymous, anonymousServer) = await app.ConnectAsync(null);
        await using var _1 = alice1;
        await using var _2 = alice2;
        await using var _3 = bob;
        await using var _4 = anonymous;

        Assert.Equal("alice", app.Sender.GetUserId(alice1Server));
        Assert.Null(app.Sender.GetUserId(anonymousServer));

        await app.Sender.SendAsync(WebSocketTarget.User("alice"), "to-alice", Ct);
        await app.Sender.SendAsync(WebSocketTarget.Connection(bobServer.ConnectionId), "to-bob-connection", Ct);
        await app.Sender.SendAsync(WebSocketTarget.Group("room", alice1Server.ConnectionId), "room-but-alice1", Ct);
        await app.Sender.SendAsync(WebSocketTarget.All(bobServer.ConnectionId), "all-but-bob", Ct);
        await app.Sender.SendAsync(WebSocketTarget.User("nobody"), "lost", Ct); // no such user: nothing, no error
        await app.Sender.SendAsync(WebSocketTarget.All(), Encoding.UTF8.GetBytes("end"), WebSocketMessageType.Text, Ct);

        // Each client's sequence is exactly what it was addressed, in send order (so nothing else slipped in).
        Assert.Equal(["to-alice", "all-but-bob", "end"], await ReceiveAsync(alice1, 3));
        Assert.Equal(["to-alice", "all-but-bob", "end"], await ReceiveAsync(alice2, 3));
        Assert.Equal(["to-bob-connection", "room-but-alice1", "end"], await ReceiveAsync(bob, 3));
        Assert.Equal(["all-but-bob", "end"], await ReceiveAsync(anonymous, 2));
    }

    [Fact]
    public async Task Binary_and_prepared_messages_arrive_as_sent_and_a_prepared_message_can_be_reused()
    {
        await using AddressingApp app = await AddressingApp.StartAsync(TransportMode.InMemory);
        var (carol, _) = await app.ConnectAsync("carol");
        var (dave, _) = await app.ConnectAsync("dave");
        await using var _1 = carol;
        await using var _2 = dave;

        byte[] payload = [0, 1, 2, 255];
        await app.Sender.SendAsync(WebSocketTarget.User("carol"), payload, WebSocketMessageType.Binary, Ct);
        payload[0] = 9; // copied by the send: the receiver must still see 0
        WebSocketPreparedMessage prepared = WebSocketPreparedMessage.Text("prepared é");
        await app.Sender.SendAsync(WebSocketTarget.User("carol"), prepared, Ct);
        await app.Sender.SendAsync(WebSocketTarget.User("dave"), prepared, Ct);

        using (WebSocketMessage? binary = await carol.ReceiveAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct))
        {
            Assert.Equal(WebSocketMessageType.Binary, binary!.Type);
            Assert.Equal(new byte[] { 0, 1, 2, 255 }, binary.Data.ToArray());
        }

        Assert.Equal("prepared é", await AddressingApp.ReceiveTextAsync(carol));
        Assert.Equal("prepared é", await AddressingApp.ReceiveTextAsync(dave));
        Assert.Throws<ArgumentException>(() => WebSocketPreparedMessage.Text("\ud800"));
        Assert.Throws<ArgumentException>(() => WebSocketPreparedMessage.Create([0xff], WebSocketMessageType.Text));
        await Assert.ThrowsAsync<ArgumentException>(() => app.Sender.SendAsync(default, "x", Ct).AsTask());
    }

    [Fact]
    public async Task Messages_from_one_sender_arrive_in_send_order_whatever_the_target_kind()
    {
        await using AddressingApp app = await AddressingApp.StartAsync(TransportMode.KestrelPipes);
        var (erin, erinServer) = await app.ConnectAsync("erin", "room");
        await using var _ = erin;

        const int Count = 400;
        for (int i = 0; i < Count; i++)
        {
            WebSocketTarget target = (i % 4) switch
            {
                0 => WebSocketTarget.User("erin"),
                1 => WebSocketTarget.Connection(erinServer.ConnectionId),
                2 => WebSocketTarget.Group("room"),
                _ => WebSocketTarget.All(),
            };
            await app.Sender.SendAsync(target, "m" + i, Ct);
        }

        for (int i = 0; i < Count; i++)
        {
            Assert.Equal("m" + i, await AddressingApp.ReceiveTextAsync(erin));
        }
    }

    [Fact]
    public async Task A_closed_connection_is_no_longer_addressable_and_a_replaced_user_id_provider_is_used()
    {
        await using AddressingApp app = await AddressingApp.StartAsync(TransportMode.InMemory, s => s.AddSingleton<IWebSocketUserIdProvider, TeamUserIdProvider>());
        var (frank, frankServer) = await app.ConnectAsync("frank");
        var (grace, _) = await app.ConnectAsync("grace");
        await using var _ = grace;
        Assert.Equal("t-frank", app.Sender.GetUserId(frankServer));

        await app.Sender.SendAsync(WebSocketTarget.User("t-frank"), "by-team", Ct);
        Assert.Equal("by-team", await AddressingApp.ReceiveTextAsync(frank));

        await frank.CloseAsync(1000, "bye", Ct);
        await frankServer.Closed.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        await app.Sender.SendAsync(WebSocketTarget.User("t-frank"), "too-late", Ct);       // no error, nobody
        await app.Sender.SendAsync(WebSocketTarget.Connection(frankServer.ConnectionId), "too-late", Ct);
        Assert.Null(app.Sender.GetUserId(frankServer));
        await app.Sender.SendAsync(WebSocketTarget.User("t-grace"), "still-here", Ct);
        Assert.Equal("still-here", await AddressingApp.ReceiveTextAsync(grace));
    }

    private static async Task<string[]> ReceiveAsync(WebSocketConnection client, int count)
    {
        string[] received = new string[count];
        for (int i = 0; i < count; i++)
        {
            received[i] = await AddressingApp.ReceiveTextAsync(client);
        }

        return received;
    }

    private sealed class TeamUserIdProvider : IWebSocketUserIdProvider
    {
        public string? GetUserId(ClaimsPrincipal user) => user.FindFirst("team")?.Value;
    }
}
