using System.Collections.Concurrent;

namespace AspNetWebSockets.IntegrationTests.Broadcast;

/// <summary>
/// An app whose <c>/g/{group}</c> endpoint joins the group and then reads until close; the server-side connections are
/// handed to the test in join order.
/// </summary>
internal sealed class GroupsApp : IAsyncDisposable
{
    private readonly ConcurrentQueue<WebSocketConnection> _joined = new();
    private readonly SemaphoreSlim _joinedCount = new(0);

    private GroupsApp(TestApp app, ConcurrentQueue<WebSocketConnection> joined, SemaphoreSlim joinedCount)
    {
        App = app;
        _joined = joined;
        _joinedCount = joinedCount;
    }

    public TestApp App { get; }

    public IWebSocketGroups Groups => App.App.Services.GetRequiredService<IWebSocketGroups>();

    public static async Task<GroupsApp> StartAsync(TransportMode mode, Action<WebSocketGroupsOptions>? groups = null)
    {
        var joined = new ConcurrentQueue<WebSocketConnection>();
        var joinedCount = new SemaphoreSlim(0);
        TestApp app = await TestApp.StartAsync(
            mode,
            a => a.MapWebSocket("/g/{group}", async (WebSocketConnection socket, string group, IWebSocketGroups registry) =>
            {
                await registry.AddAsync(socket, group);
                joined.Enqueue(socket);
                joinedCount.Release();
                await foreach (WebSocketMessage message in socket.ReadAllAsync())
                {
                    // "say:<text>" broadcasts to the rest of the group; anything else is ignored.
                    string text = message.GetText();
                    if (text.StartsWith("say:", StringComparison.Ordinal))
                    {
                        await registry.SendToGroupAsync(group, text[4..], except: socket);
                    }
                }
            }),
            services: s => s.AddWebSocketGroups(groups));
        return new GroupsApp(app, joined, joinedCount);
    }

    /// <summary>Connects a client to the group and returns it with its server-side connection, once it has joined.</summary>
    public async Task<(WebSocketConnection Client, WebSocketConnection Server)> JoinAsync(string group, Action<AspNetWebSockets.Testing.WebSocketClientOptions>? configure = null)
    {
        WebSocketConnection client = await App.ConnectAsync("/g/" + group, configure);
        Assert.True(await _joinedCount.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken), "the handler did not join");
        Assert.True(_joined.TryDequeue(out WebSocketConnection? server));
        return (client, server);
    }

    public ValueTask DisposeAsync() => App.DisposeAsync();
}
