
namespace AspNetWebSockets.IntegrationTests.Broadcast;

/// <summary>Membership and broadcast of <see cref="IWebSocketGroups"/>, under concurrency, on every transport.</summary>
public sealed class GroupsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task Concurrent_broadcasts_reach_every_member_once_and_each_broadcaster_in_order(TransportMode mode)
    {
        await using GroupsApp app = await GroupsApp.StartAsync(mode);
        var clients = new List<WebSocketConnection>();
        for (int i = 0; i < 12; i++)
        {
            clients.Add((await app.JoinAsync("room")).Client);
        }

        await using WebSocketConnection outsider = (await app.JoinAsync("other")).Client;

        const int Broadcasters = 4, PerBroadcaster = 50;
        Task[] broadcasters = Enumerable.Range(0, Broadcasters).Select(b => Task.Run(async () =>
        {
            for (int n = 0; n < PerBroadcaster; n++)
            {
                await app.Groups.SendToGroupAsync("room", $"{b}:{n}", cancellationToken: Ct);
            }
        }, Ct)).ToArray();
        await Task.WhenAll(broadcasters);

        await Task.WhenAll(clients.Select(async client =>
        {
            int[] next = new int[Broadcasters];
            for (int i = 0; i < Broadcasters * PerBroadcaster; i++)
            {
                using WebSocketMessage? message = await client.ReceiveAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct);
                Assert.NotNull(message);
                string[] parts = message.GetText().Split(':');
                int b = int.Parse(parts[0]);
                Assert.Equal(next[b]++, int.Parse(parts[1])); // per-broadcaster order is kept for every member
            }

            Assert.All(next, count => Assert.Equal(PerBroadcaster, count));
        }));

        // The member of another group got nothing: its next message is the one sent to its own group.
        await app.Groups.SendToGroupAsync("other", "only-other", cancellationToken: Ct);
        using (WebSocketMessage? first = await outsider.ReceiveAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct))
        {
            Assert.Equal("only-other", first!.GetText());
        }

        foreach (WebSocketConnection client in clients)
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task SendToGroup_except_skips_the_sender_and_SendToAll_reaches_every_group()
    {
        await using GroupsApp app = await GroupsApp.StartAsync(TransportMode.InMemory);
        await using WebSocketConnection alice = (await app.JoinAsync("a")).Client;
        await using WebSocketConnection bob = (await app.JoinAsync("a")).Client;
        await using WebSocketConnection carol = (await app.JoinAsync("b")).Client;

        await alice.SendTextAsync("say:hello", Ct); // the handler broadcasts with except: alice
        using (WebSocketMessage? m = await bob.ReceiveAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct))
        {
            Assert.Equal("hello", m!.GetText());
        }

        await app.Groups.SendToAllAsync(new byte[] { 1, 2, 3 }, WebSocketMessageType.Binary, cancellationToken: Ct);
        foreach (WebSocketConnection client in new[] { alice, bob, carol })
        {
            // alice's first message is the broadcast to all: she did not get her own "hello".
            using WebSocketMessage? m = await client.ReceiveAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct);
            Assert.Equal(WebSocketMessageType.Binary, m!.Type);
            Assert.Equal(new byte[] { 1, 2, 3 }, m.Data.ToArray());
        }
    }

    [Fact]
    public async Task SendToAll_reaches_connections_that_joined_no_group()
    {
        await using TestApp app = await TestApp.StartAsync(
            TransportMode.InMemory,
            a => a.MapWebSocket("/plain", async (WebSocketConnection socket) =>
            {
                await foreach (WebSocketMessage message in socket.ReadAllAsync())
                {
                }
            }),
            services: s => s.AddWebSocketGroups());
        await using WebSocketConnection loner = await app.ConnectAsync("/plain");
        var server = app.App.Services.GetRequiredService<AspNetWebSockets.Hosting.WebSocketServer>();
        for (int attempt = 0; attempt < 100 && server.ConnectionCount == 0; attempt++)
        {
            await Task.Delay(10, Ct); // the server registers the connection just after the handshake
        }

        await app.App.Services.GetRequiredService<IWebSocketGroups>().SendToAllAsync("to everyone", cancellationToken: Ct);

        using WebSocketMessage? m = await loner.ReceiveAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal("to everyone", m?.GetText());
    }

    [Fact]
    public async Task Members_are_kept_and_broadcast_to_in_the_order_they_joined()
    {
        // A broadcast walks the members in this order: in join order the kernel's state of consecutive sockets lies close
        // together (hash order cost about a fifth more CPU on 4 KiB to 10,000), so the order is part of the contract.
        await using GroupsApp app = await GroupsApp.StartAsync(TransportMode.InMemory);
        var servers = new List<WebSocketConnection>();
        var clients = new List<WebSocketConnection>();
        for (int i = 0; i < 40; i++)
        {
            (WebSocketConnection client, WebSocketConnection server) = await app.JoinAsync("lobby");
            clients.Add(client);
            servers.Add(server);
            await app.Groups.AddAsync(server, "ordered", Ct);
        }

        Assert.Equal(servers, app.Groups.GetLocalMembers("ordered"));

        // A leave frees a slot, which the next join takes; the others keep their order.
        await app.Groups.RemoveAsync(servers[7], "ordered", Ct);
        await app.Groups.AddAsync(servers[7], "ordered", Ct);
        Assert.Equal(servers, app.Groups.GetLocalMembers("ordered"));
        await app.Groups.RemoveAsync(servers[3], "ordered", Ct);
        servers.RemoveAt(3);
        Assert.Equal(servers, app.Groups.GetLocalMembers("ordered"));

        foreach (WebSocketConnection client in clients)
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task Concurrent_joins_and_leaves_leave_consistent_membership()
    {
        await using GroupsApp app = await GroupsApp.StartAsync(TransportMode.InMemory);
        var pairs = new List<(WebSocketConnection Client, WebSocketConnection Server)>();
        for (int i = 0; i < 16; i++)
        {
            pairs.Add(await app.JoinAsync("home"));
        }

        // Every connection joins g0..g9 and leaves the odd ones, from many threads at once, while broadcasts run.
        using var stopBroadcasting = new CancellationTokenSource();
        Task noise = Task.Run(async () =>
        {
            while (!stopBroadcasting.IsCancellationRequested)
            {
                await app.Groups.SendToGroupAsync("g" + Random.Shared.Next(10), "x", cancellationToken: Ct);
                await Task.Yield();
            }
        }, Ct);
        await Parallel.ForEachAsync(
            pairs.SelectMany(p => Enumerable.Range(0, 10).Select(g => (p.Server, Group: "g" + g))),
            new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Ct },
            async (work, ct) =>
            {
                await app.Groups.AddAsync(work.Server, work.Group, ct);
                await app.Groups.AddAsync(work.Server, work.Group, ct); // idempotent
                if (int.Parse(work.Group[1..]) % 2 == 1)
                {
                    await app.Groups.RemoveAsync(work.Server, work.Group, ct);
                }
            });
        stopBroadcasting.Cancel();
        await noise;

        for (int g = 0; g < 10; g++)
        {
            Assert.Equal(g % 2 == 0 ? 16 : 0, app.Groups.GetLocalMembers("g" + g).Count);
        }

        foreach ((_, WebSocketConnection server) in pairs)
        {
            Assert.Equal(["g0", "g2", "g4", "g6", "g8", "home"], app.Groups.GetGroups(server).Order());
        }

        foreach ((WebSocketConnection client, _) in pairs)
        {
            await client.DisposeAsync();
        }
    }

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task A_closed_connection_leaves_every_group(TransportMode mode)
    {
        await using GroupsApp app = await GroupsApp.StartAsync(mode);
        (WebSocketConnection client, WebSocketConnection server) = await app.JoinAsync("a");
        await using WebSocketConnection stays = (await app.JoinAsync("a")).Client;
        await app.Groups.AddAsync(server, "b", Ct);
        Assert.Equal(2, app.Groups.GetLocalMembers("a").Count);

        await client.CloseAsync(1000, "bye", Ct);
        await server.Closed.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        Assert.Single(app.Groups.GetLocalMembers("a"));
        Assert.Empty(app.Groups.GetLocalMembers("b"));
        Assert.Empty(app.Groups.GetGroups(server));

        // Joining a closed connection is a no-op rather than a leak.
        await app.Groups.AddAsync(server, "c", Ct);
        Assert.Empty(app.Groups.GetLocalMembers("c"));
        await client.DisposeAsync();
    }

    [Theory]
    [InlineData(WebSocketBroadcastOverflowPolicy.DropMessage)]
    [InlineData(WebSocketBroadcastOverflowPolicy.CloseTryAgainLater)]
    [InlineData(WebSocketBroadcastOverflowPolicy.ClosePolicyViolation)]
    public async Task A_member_that_does_not_read_neither_blocks_the_others_nor_holds_more_than_its_budget(WebSocketBroadcastOverflowPolicy policy)
    {
        const long Budget = 512 * 1024;
        await using GroupsApp app = await GroupsApp.StartAsync(TransportMode.KestrelPipes, o =>
        {
            o.MaxBufferedAmountPerMember = Budget;
            o.SlowMemberPolicy = policy;
        });
        (WebSocketConnection fast, _) = await app.JoinAsync("feed", o => o.MaxMessageSize = 1 << 20);
        (WebSocketConnection stalled, WebSocketConnection stalledServer) = await app.JoinAsync("feed", o => o.MaxMessageSize = 1 << 20); // never reads
        await using var _f = fast;
        await using var _s = stalled;

        byte[] payload = new byte[64 * 1024];
        long maxBuffered = 0;
        for (int n = 0; n < 300; n++) // ~19 MiB: far more than loopback socket buffers hold for the stalled one
        {
            payload[0] = (byte)n;
            await app.Groups.SendToGroupAsync("feed", payload, WebSocketMessageType.Binary, cancellationToken: Ct);
            maxBuffered = Math.Max(maxBuffered, stalledServer.BufferedAmount);

            using WebSocketMessage? m = await fast.ReceiveAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct);
            Assert.Equal((byte)n, m!.Data.Span[0]); // the reader gets every message, in order
        }

        Assert.True(maxBuffered <= Budget, $"the stalled member held {maxBuffered} bytes, budget {Budget}");
        Assert.True(maxBuffered > Budget / 2, $"the stalled member never backed up ({maxBuffered} bytes): the test did not stall it");
        if (policy == WebSocketBroadcastOverflowPolicy.DropMessage)
        {
            Assert.Equal(WebSocketReadyState.Open, stalledServer.ReadyState);
            Assert.Equal(2, app.Groups.GetLocalMembers("feed").Count);
        }
        else
        {
            int code = policy == WebSocketBroadcastOverflowPolicy.CloseTryAgainLater ? 1013 : 1008;
            WebSocketCloseInfo closed = await stalledServer.Closed.WaitAsync(TimeSpan.FromSeconds(10), Ct);
            Assert.Equal(new WebSocketCloseInfo(code, "slow consumer", WasClean: false), closed);
            Assert.Single(app.Groups.GetLocalMembers("feed"));
        }
    }
}
