using System.Collections.Concurrent;
using System.Security.Claims;

namespace AspNetWebSockets.IntegrationTests.Broadcast;

/// <summary>
/// An app whose <c>/a/{group}?user=…</c> endpoint signs the connection in as that user (a test stand-in for real
/// authentication: a NameIdentifier claim), joins the group and reads until close; server-side connections are handed to
/// the test in connection order.
/// </summary>
internal sealed class AddressingApp : IAsyncDisposable
{
    private readonly ConcurrentQueue<WebSocketConnection> _joined;
    private readonly SemaphoreSlim _joinedCount;

    private AddressingApp(TestApp app, ConcurrentQueue<WebSocketConnection> joined, SemaphoreSlim joinedCount)
    {
        App = app;
        _joined = joined;
        _joinedCount = joinedCount;
    }

    public TestApp App { get; }

    public IWebSocketSender Sender => App.App.Services.GetRequiredService<IWebSocketSender>();

    public IWebSocketPresence Presence => App.App.Services.GetRequiredService<IWebSocketPresence>();

    public IWebSocketGroups Groups => App.App.Services.GetRequiredService<IWebSocketGroups>();

    public static async Task<AddressingApp> StartAsync(TransportMode mode, Action<IServiceCollection>? services = null)
    {
        var joined = new ConcurrentQueue<WebSocketConnection>();
        var joinedCount = new SemaphoreSlim(0);
        TestApp app = await TestApp.StartAsync(
            mode,
            a =>
            {
                a.Use((context, next) =>
                {
                    if (context.Request.Query["user"].ToString() is { Length: > 0 } user)
                    {
                        context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, user), new Claim("team", "t-" + user)], "test"));
                    }

                    return next(context);
                });
                a.MapWebSocket("/a/{group}", async (WebSocketConnection socket, string group, IWebSocketGroups groups) =>
                {
                    if (group != "-")
                    {
                        await groups.AddAsync(socket, group);
                    }

                    joined.Enqueue(socket);
                    joinedCount.Release();
                    await foreach (WebSocketMessage message in socket.ReadAllAsync())
                    {
                        // "leave:<group>" leaves a group; anything else is ignored.
                        string text = message.GetText();
                        if (text.StartsWith("leave:", StringComparison.Ordinal))
                        {
                            await groups.RemoveAsync(socket, text[6..]);
                        }
                    }
                });
            },
            services: s =>
            {
                s.AddWebSocketGroups();
                services?.Invoke(s);
            });
        return new AddressingApp(app, joined, joinedCount);
    }

    /// <summary>Connects as <paramref name="user"/> (null: anonymous) into <paramref name="group"/> ("-": none); returns client and server side.</summary>
    public async Task<(WebSocketConnection Client, WebSocketConnection Server)> ConnectAsync(string? user, string group = "-")
    {
        WebSocketConnection client = await App.ConnectAsync("/a/" + group + (user is null ? "" : "?user=" + Uri.EscapeDataString(user)));
        Assert.True(await _joinedCount.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken), "the handler did not start");
        Assert.True(_joined.TryDequeue(out WebSocketConnection? server));
        return (client, server);
    }

    public static async Task<string> ReceiveTextAsync(WebSocketConnection client)
    {
        using WebSocketMessage? message = await client.ReceiveAsync(TestContext.Current.CancellationToken).AsTask()
            .WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.NotNull(message);
        return message.GetText();
    }

    public ValueTask DisposeAsync() => App.DisposeAsync();
}
