namespace AspNetWebSockets.RedisTests;

/// <summary><see cref="IWebSocketSender"/> across two nodes sharing a real Redis.</summary>
public sealed class RedisAddressingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NewPrefix() => "test-" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task A_users_connections_on_two_nodes_both_get_a_direct_message_sent_from_either_node_once()
    {
        string redis = await RedisServer.RequireSharedAsync();
        string prefix = NewPrefix();
        await using AddressingNode a = await AddressingNode.StartAsync(redis, prefix);
        await using AddressingNode b = await AddressingNode.StartAsync(redis, prefix);
        await using WebSocketConnection aliceOnA = await a.ConnectAsync("alice");
        await using WebSocketConnection aliceOnB = await b.ConnectAsync("alice");
        await using WebSocketConnection bobOnB = await b.ConnectAsync("bob");

        await a.Sender.SendAsync(WebSocketTarget.User("alice"), "from-a", Ct);
        await b.Sender.SendAsync(WebSocketTarget.User("alice"), "from-b", Ct);
        await a.Sender.SendAsync(WebSocketTarget.User("bob"), "bob-from-a", Ct);

        // Each of alice's connections gets each message exactly once (own-node copies are not echoed back by Redis).
        foreach (WebSocketConnection alice in new[] { aliceOnA, aliceOnB })
        {
            string[] got = [await Node.ReceiveTextAsync(alice), await Node.ReceiveTextAsync(alice)];
            Assert.Equal(["from-a", "from-b"], got.Order().ToArray());
        }

        Assert.Equal("bob-from-a", await Node.ReceiveTextAsync(bobOnB));

        // Nothing else is pending for alice: the next message is this probe.
        await a.Sender.SendAsync(WebSocketTarget.All(), "probe", Ct);
        Assert.Equal("probe", await Node.ReceiveTextAsync(aliceOnA));
        Assert.Equal("probe", await Node.ReceiveTextAsync(aliceOnB));
    }

    [Fact]
    public async Task Every_target_kind_crosses_nodes_and_one_senders_messages_keep_their_order()
    {
        string redis = await RedisServer.RequireSharedAsync();
        string prefix = NewPrefix();
        await using AddressingNode a = await AddressingNode.StartAsync(redis, prefix);
        await using AddressingNode b = await AddressingNode.StartAsync(redis, prefix);
        await using WebSocketConnection carolOnB = await b.ConnectAsync("carol", "room");
        await using WebSocketConnection daveOnB = await b.ConnectAsync("dave", "room");

        // Connection ids are server-side: read them from node B.
        string carolId = Assert.Single(b.App.Services.GetRequiredService<IWebSocketGroups>().GetLocalMembers("room"),
            c => b.Sender.GetUserId(c) == "carol").ConnectionId;
        string daveId = Assert.Single(b.App.Services.GetRequiredService<IWebSocketGroups>().GetLocalMembers("room"),
            c => b.Sender.GetUserId(c) == "dave").ConnectionId;

        const int Count = 200;
        for (int i = 0; i < Count; i++)
        {
            WebSocketTarget target = (i % 4) switch
            {
                0 => WebSocketTarget.User("carol"),
                1 => WebSocketTarget.Connection(carolId),
                2 => WebSocketTarget.Group("room", daveId),
                _ => WebSocketTarget.All(daveId),
            };
            await a.Sender.SendAsync(target, "m" + i, Ct);
        }

        for (int i = 0; i < Count; i++)
        {
            Assert.Equal("m" + i, await Node.ReceiveTextAsync(carolOnB));
        }

        // Dave was excepted from every group and all message and addressed by none: his next message is this one.
        await a.Sender.SendAsync(WebSocketTarget.Group("room"), "room-for-all", Ct);
        Assert.Equal("room-for-all", await Node.ReceiveTextAsync(daveOnB));
        Assert.Equal("room-for-all", await Node.ReceiveTextAsync(carolOnB));
    }
}
