using System.Net;
using System.Security.Claims;
using AspNetWebSockets.Redis;
using AspNetWebSockets.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging;

namespace AspNetWebSockets.RedisTests;

/// <summary>
/// One app node on Kestrel with groups, addressing and (optionally) presence on a shared Redis. <c>/u/{group}?user=…</c>
/// signs the connection in as that user (a NameIdentifier claim: a stand-in for real authentication), joins the group
/// ("-": none), answers "joined" and reads until close.
/// </summary>
internal sealed class AddressingNode : IAsyncDisposable
{
    private AddressingNode(WebApplication app) => App = app;

    public WebApplication App { get; }

    public IWebSocketSender Sender => App.Services.GetRequiredService<IWebSocketSender>();

    public IWebSocketPresence Presence => App.Services.GetRequiredService<IWebSocketPresence>();

    public static async Task<AddressingNode> StartAsync(string redis, string prefix, Action<WebSocketGroupsBuilder>? configure = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        builder.Services.AddWebSockets();
        WebSocketGroupsBuilder groups = builder.Services.AddWebSocketGroups()
            .AddRedisBackplane(redis + ",connectTimeout=2000,connectRetry=1", o => o.ChannelPrefix = prefix);
        configure?.Invoke(groups);
        WebApplication app = builder.Build();
        app.Use((context, next) =>
        {
            if (context.Request.Query["user"].ToString() is { Length: > 0 } user)
            {
                context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, user)], "test"));
            }

            return next(context);
        });
        app.MapWebSocket("/u/{group}", async (WebSocketConnection socket, string group, IWebSocketGroups groups) =>
        {
            if (group != "-")
            {
                await groups.AddAsync(socket, group);
            }

            await socket.SendTextAsync("joined");
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                string text = message.GetText();
                if (text.StartsWith("leave:", StringComparison.Ordinal))
                {
                    await groups.RemoveAsync(socket, text[6..]);
                    await socket.SendTextAsync("left");
                }
            }
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new AddressingNode(app);
    }

    /// <summary>Connects as <paramref name="user"/> to <paramref name="group"/> and waits until the server has joined it.</summary>
    public async Task<WebSocketConnection> ConnectAsync(string user, string group = "-")
    {
        var address = new UriBuilder(App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First())
        {
            Scheme = "ws",
            Path = "/u/" + group,
            Query = "user=" + Uri.EscapeDataString(user),
        };
        WebSocketConnection client = await WebSocketTestClient.ConnectAsync(address.Uri, null, TestContext.Current.CancellationToken);
        Assert.Equal("joined", await Node.ReceiveTextAsync(client));
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await App.StopAsync(stop.Token);
        await App.DisposeAsync();
    }
}
