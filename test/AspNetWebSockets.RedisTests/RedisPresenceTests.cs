using System.Collections.Concurrent;
using System.Diagnostics;
using AspNetWebSockets.Redis;

namespace AspNetWebSockets.RedisTests;

/// <summary><see cref="IWebSocketPresence"/> across two nodes sharing a real Redis, with short heartbeats.</summary>
public sealed class RedisPresenceTests
{
    private static readonly TimeSpan Heartbeat = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan NodeTimeout = TimeSpan.FromSeconds(1);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NewPrefix() => "test-" + Guid.NewGuid().ToString("N")[..12];

    private static Task<AddressingNode> StartAsync(string redis, string prefix) =>
        AddressingNode.StartAsync(redis, prefix, g => g.AddRedisPresence(redis, o =>
        {
            o.KeyPrefix = prefix;
            o.HeartbeatInterval = Heartbeat;
            o.NodeTimeout = NodeTimeout;
        }));

    [Fact]
    public async Task Members_and_online_users_converge_on_both_nodes_after_joins_leaves_and_closes_with_notifications()
    {
        string redis = await RedisServer.RequireSharedAsync();
        string prefix = NewPrefix();
        await using AddressingNode a = await StartAsync(redis, prefix);
        await using AddressingNode b = await StartAsync(redis, prefix);
        var seenOnA = new ConcurrentQueue<WebSocketPresenceChange>();
        using IDisposable subscription = a.Presence.Subscribe(c =>
        {
            seenOnA.Enqueue(c);
            return default;
        });

        await using WebSocketConnection aliceOnA = await a.ConnectAsync("alice", "room");
        WebSocketConnection bobOnB = await b.ConnectAsync("bob", "room");
        await using WebSocketConnection aliceOnB = await b.ConnectAsync("alice", "room");

        foreach (AddressingNode node in new[] { a, b })
        {
            await UntilAsync(async () => await UsersAsync(node, "room") == "alice,alice,bob");
            Assert.True(await node.Presence.IsUserOnlineAsync("bob", Ct));
        }

        // Bob leaves the group (still connected), then disconnects: both nodes see it, and A was told.
        await bobOnB.SendTextAsync("leave:room", Ct);
        Assert.Equal("left", await Node.ReceiveTextAsync(bobOnB));
        await UntilAsync(async () => await UsersAsync(a, "room") == "alice,alice");
        Assert.True(await a.Presence.IsUserOnlineAsync("bob", Ct));
        await bobOnB.CloseAsync(1000, "bye", Ct);
        await bobOnB.DisposeAsync();
        await UntilAsync(async () => !await a.Presence.IsUserOnlineAsync("bob", Ct));

        // Alice closes one of two connections: still online, one membership left.
        await aliceOnB.CloseAsync(1000, "bye", Ct);
        await UntilAsync(async () => await UsersAsync(b, "room") == "alice");
        Assert.True(await b.Presence.IsUserOnlineAsync("alice", Ct));

        await UntilAsync(() => Task.FromResult(seenOnA.Any(c => c.Kind == WebSocketPresenceChangeKind.UserOffline && c.Member.UserId == "bob")));
        WebSocketPresenceChange[] seen = seenOnA.ToArray();
        Assert.Equal(3, seen.Count(c => c.Kind == WebSocketPresenceChangeKind.Joined && c.Group == "room"));
        Assert.Equal(2, seen.Count(c => c.Kind == WebSocketPresenceChangeKind.UserOnline)); // alice once, bob once
        Assert.Contains(seen, c => c.Kind == WebSocketPresenceChangeKind.Left && c.Member.UserId == "bob");
        Assert.DoesNotContain(seen, c => c.Kind == WebSocketPresenceChangeKind.UserOffline && c.Member.UserId == "alice");
    }

    [Fact]
    public async Task A_node_that_dies_without_goodbye_has_its_members_removed_within_the_node_timeout_plus_a_heartbeat()
    {
        string redis = await RedisServer.RequireSharedAsync();
        string prefix = NewPrefix();
        await using AddressingNode a = await StartAsync(redis, prefix);
        AddressingNode b = await StartAsync(redis, prefix);
        await using WebSocketConnection carolOnA = await a.ConnectAsync("carol", "room");
        WebSocketConnection daveOnB = await b.ConnectAsync("dave", "room");
        await UntilAsync(async () => await UsersAsync(a, "room") == "carol,dave");

        var offline = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        var watch = Stopwatch.StartNew();
        using IDisposable subscription = a.Presence.Subscribe(c =>
        {
            if (c.Kind == WebSocketPresenceChangeKind.UserOffline && c.Member.UserId == "dave")
            {
                offline.TrySetResult(watch.Elapsed);
            }

            return default;
        });

        // Node B "dies": its presence connection drops with no goodbye and no more heartbeats; its clients stay connected
        // to a process that can no longer tell Redis anything.
        await b.App.Services.GetRequiredService<RedisWebSocketPresence>().DisposeAsync();
        watch.Restart();

        await UntilAsync(async () => await UsersAsync(a, "room") == "carol");
        TimeSpan gone = watch.Elapsed;
        Assert.False(await a.Presence.IsUserOnlineAsync("dave", Ct));
        TimeSpan notified = await offline.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        // The documented bound (NodeTimeout, then NodeTimeout + HeartbeatInterval) with generous slack for a loaded machine.
        TimeSpan slack = TimeSpan.FromSeconds(3);
        Assert.True(gone < NodeTimeout + Heartbeat + slack, $"members vanished from queries after {gone}");
        Assert.True(notified < NodeTimeout + 2 * Heartbeat + slack, $"Left/UserOffline were notified after {notified}");
        Assert.True(gone >= NodeTimeout - Heartbeat, $"members vanished after {gone}, before the node could have timed out");

        await daveOnB.DisposeAsync();
        await b.DisposeAsync();
    }

    private static async Task<string> UsersAsync(AddressingNode node, string group) =>
        string.Join(',', (await node.Presence.GetGroupMembersAsync(group, Ct)).Select(m => m.UserId).Order());

    /// <summary>Polls every 50 ms, up to 10 s.</summary>
    private static async Task UntilAsync(Func<Task<bool>> condition)
    {
        for (int i = 0; i < 200; i++)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(50, Ct);
        }

        Assert.Fail("presence did not converge within 10 s");
    }
}
