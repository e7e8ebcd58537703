using System.Collections.Concurrent;

namespace AspNetWebSockets.IntegrationTests.Broadcast;

/// <summary>The default, in-memory <see cref="IWebSocketPresence"/>: fed by group joins, leaves and closes.</summary>
public sealed class PresenceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Joins_leaves_and_closes_update_members_online_users_and_notify_once_each()
    {
        await using AddressingApp app = await AddressingApp.StartAsync(TransportMode.InMemory);
        var seen = new ConcurrentQueue<WebSocketPresenceChange>();
        using IDisposable subscription = app.Presence.Subscribe(c =>
        {
            seen.Enqueue(c);
            return default;
        });

        var (alice1, alice1Server) = await app.ConnectAsync("alice", "room");
        var (alice2, _) = await app.ConnectAsync("alice", "room");
        var (anonymous, anonymousServer) = await app.ConnectAsync(null, "room");
        await app.Groups.AddAsync(alice1Server, "room", Ct); // a second join changes nothing

        IReadOnlyList<WebSocketPresenceMember> members = await app.Presence.GetGroupMembersAsync("room", Ct);
        Assert.Equal(3, members.Count);
        Assert.Contains(new WebSocketPresenceMember(alice1Server.ConnectionId, "alice"), members);
        Assert.Contains(new WebSocketPresenceMember(anonymousServer.ConnectionId, null), members);
        Assert.True(await app.Presence.IsUserOnlineAsync("alice", Ct));

        await alice1.SendTextAsync("leave:room", Ct);
        await UntilAsync(async () => (await app.Presence.GetGroupMembersAsync("room", Ct)).Count == 2);
        Assert.True(await app.Presence.IsUserOnlineAsync("alice", Ct)); // left the group, still connected

        await alice1.CloseAsync(1000, "bye", Ct);
        await alice2.CloseAsync(1000, "bye", Ct);
        await anonymous.CloseAsync(1000, "bye", Ct);
        await UntilAsync(async () => !await app.Presence.IsUserOnlineAsync("alice", Ct) && (await app.Presence.GetGroupMembersAsync("room", Ct)).Count == 0);

        WebSocketPresenceChange[] all = seen.ToArray();
        Assert.Equal(3, all.Count(c => c.Kind == WebSocketPresenceChangeKind.Joined && c.Group == "room"));
        Assert.Equal(3, all.Count(c => c.Kind == WebSocketPresenceChangeKind.Left && c.Group == "room"));
        Assert.Single(all, c => c.Kind == WebSocketPresenceChangeKind.UserOnline && c.Member.UserId == "alice");
        Assert.Single(all, c => c.Kind == WebSocketPresenceChangeKind.UserOffline && c.Member.UserId == "alice");
        Assert.True(Array.FindIndex(all, c => c.Kind == WebSocketPresenceChangeKind.UserOnline) < Array.FindIndex(all, c => c.Kind == WebSocketPresenceChangeKind.UserOffline));
    }

    [Fact]
    public async Task A_throwing_handler_is_logged_and_does_not_stop_other_handlers_or_later_notifications()
    {
        await using AddressingApp app = await AddressingApp.StartAsync(TransportMode.InMemory);
        int calls = 0;
        using IDisposable bad = app.Presence.Subscribe(_ => throw new InvalidOperationException("boom"));
        using IDisposable good = app.Presence.Subscribe(_ =>
        {
            Interlocked.Increment(ref calls);
            return default;
        });

        var (one, _) = await app.ConnectAsync("u1", "room");
        var (two, _) = await app.ConnectAsync("u2", "room");
        await using var _1 = one;
        await using var _2 = two;
        Assert.Equal(4, Volatile.Read(ref calls)); // online + joined, twice
    }

    private static async Task UntilAsync(Func<Task<bool>> condition)
    {
        for (int i = 0; i < 200 && !await condition(); i++)
        {
            await Task.Delay(25, Ct);
        }

        Assert.True(await condition(), "presence did not converge within 5 s");
    }
}
