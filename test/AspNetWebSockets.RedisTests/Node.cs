using System.Net;
using AspNetWebSockets.Redis;
using AspNetWebSockets.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging;

namespace AspNetWebSockets.RedisTests;

/// <summary>One app node on Kestrel (127.0.0.1, OS-chosen port) with groups on the Redis backplane; <c>/g/{group}</c> joins and reads.</summary>
internal sealed class Node : IAsyncDisposable
{
    private Node(WebApplication app) => App = app;

    public WebApplication App { get; }

    public IWebSocketGroups Groups => App.Services.GetRequiredService<IWebSocketGroups>();

    public RedisWebSocketBackplane Backplane => App.Services.GetRequiredService<RedisWebSocketBackplane>();

    public static async Task<Node> StartAsync(string redis, string prefix)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        builder.Services.AddWebSockets();
        builder.Services.AddWebSocketGroups().AddRedisBackplane(redis + ",connectTimeout=2000,connectRetry=1", o => o.ChannelPrefix = prefix);
        WebApplication app = builder.Build();
        app.MapWebSocket("/g/{group}", async (WebSocketConnection socket, string group, IWebSocketGroups groups) =>
        {
            await groups.AddAsync(socket, group);
            await socket.SendTextAsync("joined");
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
            }
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new Node(app);
    }

    /// <summary>Connects a client and waits until the server has added it to the group.</summary>
    public async Task<WebSocketConnection> JoinAsync(string group)
    {
        var address = new UriBuilder(App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) { Scheme = "ws", Path = "/g/" + group };
        WebSocketConnection client = await WebSocketTestClient.ConnectAsync(address.Uri, null, TestContext.Current.CancellationToken);
        Assert.Equal("joined", await ReceiveTextAsync(client));
        return client;
    }

    public static async Task<string> ReceiveTextAsync(WebSocketConnection client, double seconds = 10)
    {
        using WebSocketMessage? message = await client.ReceiveAsync(TestContext.Current.CancellationToken).AsTask()
            .WaitAsync(TimeSpan.FromSeconds(seconds), TestContext.Current.CancellationToken);
        Assert.NotNull(message);
        return message.GetText();
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await App.StopAsync(stop.Token);
        await App.DisposeAsync();
    }
}
