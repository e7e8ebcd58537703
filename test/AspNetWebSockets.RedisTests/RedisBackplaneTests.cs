using System.Collections.Concurrent;
using AspNetWebSockets.Redis;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AspNetWebSockets.RedisTests;

/// <summary>Two (or three) app nodes in this process sharing a real Redis through the backplane.</summary>
public sealed class RedisBackplaneTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NewPrefix() => "test-" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task A_broadcast_on_node_A_reaches_members_on_node_B_in_order_once_and_not_other_prefixes()
    {
        string redis = await RedisServer.RequireSharedAsync();
        string prefix = NewPrefix();
        await using Node a = await Node.StartAsync(redis, prefix);
        await using Node b = await Node.StartAsync(redis, prefix);
        await using Node otherApp = await Node.StartAsync(redis, NewPrefix());
        Assert.True(a.Backplane.IsConnected && b.Backplane.IsConnected);

        await using WebSocketConnection onA = await a.JoinAsync("room");
        await using WebSocketConnection onB = await b.JoinAsync("room");
        await using WebSocketConnection onBElsewhere = await b.JoinAsync("lobby");
        await using WebSocketConnection otherAppClient = await otherApp.JoinAsync("room");

        const int Count = 200;
        for (int i = 0; i < Count; i++)
        {
            await a.Groups.SendToGroupAsync("room", "m" + i, cancellationToken: Ct);
        }

        await a.Groups.SendToAllAsync("to-all", cancellationToken: Ct);

        foreach (WebSocketConnection client in new[] { onA, onB })
        {
            for (int i = 0; i < Count; i++)
            {
                Assert.Equal("m" + i, await Node.ReceiveTextAsync(client));
            }

            // Exactly once: the next message is the broadcast to all, not a second copy from the backplane.
            Assert.Equal("to-all", await Node.ReceiveTextAsync(client));
        }

        // Members of other groups only got the broadcast to all; another app prefix got nothing.
        Assert.Equal("to-all", await Node.ReceiveTextAsync(onBElsewhere));
        await otherApp.Groups.SendToGroupAsync("room", "own-app", cancellationToken: Ct);
        Assert.Equal("own-app", await Node.ReceiveTextAsync(otherAppClient));
    }

    [Fact]
    public async Task Other_channels_under_the_prefix_are_skipped_silently_and_malformed_broadcasts_are_logged()
    {
        string redis = await RedisServer.RequireSharedAsync();
        string prefix = NewPrefix();
        var logs = new ConcurrentQueue<string>();
        using ILoggerFactory loggers = LoggerFactory.Create(l => l.AddProvider(new QueueLoggerProvider(logs)));
        await using var backplane = new RedisWebSocketBackplane(
            Options.Create(new RedisBackplaneOptions { Configuration = redis, ChannelPrefix = prefix }), loggers);
        await backplane.StartAsync(Ct);
        await using ConnectionMultiplexer publisher = await ConnectionMultiplexer.ConnectAsync(redis);
        ISubscriber pub = publisher.GetSubscriber();

        // Presence notifications share the prefix (and any app may add channels under it): not ours, no warning.
        await pub.PublishAsync(RedisChannel.Literal(prefix + ":presence"), "J5:3:conn-1bob");
        // Then a broadcast that is ours but broken: messages on one subscription are handled in order, so once its
        // warning is in, the one before it has been handled too.
        await pub.PublishAsync(RedisChannel.Literal(prefix + ":all"), "x");
        for (int i = 0; i < 100 && logs.IsEmpty; i++)
        {
            await Task.Delay(50, Ct);
        }

        string warning = Assert.Single(logs);
        Assert.Contains(prefix + ":all", warning);
    }

    private sealed class QueueLoggerProvider(ConcurrentQueue<string> logs) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new QueueLogger(logs);

        public void Dispose()
        {
        }

        private sealed class QueueLogger(ConcurrentQueue<string> logs) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    logs.Enqueue(formatter(state, exception));
                }
            }
        }
    }

    [Fact]
    public async Task Broadcasts_between_nodes_resume_after_Redis_restarts()
    {
        string binary = RedisServer.RequireRedisServerBinary();
        using var redis = new RedisServer.Private(binary); // private: restarting the shared one would disturb other tests
        await redis.StartAsync();
        string prefix = NewPrefix();
        await using Node a = await Node.StartAsync(redis.Endpoint, prefix);
        await using Node b = await Node.StartAsync(redis.Endpoint, prefix);
        await using WebSocketConnection onB = await b.JoinAsync("room");

        await a.Groups.SendToGroupAsync("room", "before", cancellationToken: Ct);
        Assert.Equal("before", await Node.ReceiveTextAsync(onB));

        await redis.KillAsync();
        for (int i = 0; i < 100 && (a.Backplane.IsConnected || b.Backplane.IsConnected); i++)
        {
            await Task.Delay(50, Ct);
        }

        Assert.False(b.Backplane.IsConnected, "node B did not notice Redis going away");
        await a.Groups.SendToGroupAsync("room", "during", cancellationToken: Ct); // lost for B (documented), must not throw
        await redis.StartAsync();

        // Keep broadcasting until one gets through (bounded), then check delivery is in order again.
        string? first = null;
        Task<string> receive = Node.ReceiveTextAsync(onB, seconds: 30);
        for (int attempt = 0; attempt < 150 && !receive.IsCompleted; attempt++)
        {
            await a.Groups.SendToGroupAsync("room", "probe", cancellationToken: Ct);
            await Task.WhenAny(receive, Task.Delay(100, Ct));
        }

        first = await receive;
        Assert.True(first is "probe" or "during", $"unexpected '{first}'");

        // A delivery proves the subscription is back; the multiplexer's IsConnected flag may report it a moment later.
        for (int i = 0; i < 100 && !(b.Backplane.IsConnected && a.Backplane.IsConnected); i++)
        {
            await Task.Delay(50, Ct);
        }

        Assert.True(b.Backplane.IsConnected && a.Backplane.IsConnected, "a node did not report Redis as connected again");

        await a.Groups.SendToGroupAsync("room", "after-0", cancellationToken: Ct);
        await a.Groups.SendToGroupAsync("room", "after-1", cancellationToken: Ct);
        string next;
        int skipped = 0;
        while ((next = await Node.ReceiveTextAsync(onB)) is "probe" or "during")
        {
            Assert.True(++skipped < 200);
        }

        Assert.Equal("after-0", next);
        Assert.Equal("after-1", await Node.ReceiveTextAsync(onB));
    }
}
