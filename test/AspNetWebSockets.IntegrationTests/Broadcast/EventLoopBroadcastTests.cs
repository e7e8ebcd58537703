using System.Net;
using AspNetWebSockets.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace AspNetWebSockets.IntegrationTests.Broadcast;

/// <summary>
/// Broadcasts made inside a receive callback in the event-loop mode, over Kestrel: the members are corked with the
/// callback (each flushed once when it ends) up to the batch's limit of 256, and the rest flush as they go; every member
/// gets every message once, in order, either way.
/// </summary>
public sealed class EventLoopBroadcastTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Several_broadcasts_from_one_callback_reach_more_members_than_one_batch_holds_in_order()
    {
        const int Members = 300; // over the callback batch's 256
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0)).UseWebSocketEventLoop();
        builder.Logging.ClearProviders();
        builder.Services.AddWebSockets(o => o.KeepAliveInterval = Timeout.InfiniteTimeSpan);
        builder.Services.AddWebSocketGroups();
        await using WebApplication app = builder.Build();
        app.MapWebSocket("/room", async (WebSocketConnection socket, IWebSocketGroups groups) =>
        {
            await groups.AddAsync(socket, "room");
            await socket.SendTextAsync("joined");
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                // Three broadcasts in one run of the callback.
                string text = message.GetText();
                for (int i = 1; i <= 3; i++)
                {
                    await groups.SendToGroupAsync("room", text + i);
                }
            }
        });
        await app.StartAsync(Ct);
        var address = new UriBuilder(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) { Scheme = "ws", Path = "/room" };

        var clients = new List<WebSocketConnection>();
        try
        {
            for (int i = 0; i < Members; i++)
            {
                WebSocketConnection client = await WebSocketTestClient.ConnectAsync(address.Uri, null, Ct);
                clients.Add(client);
                Assert.Equal("joined", await ReceiveTextAsync(client));
            }

            await clients[0].SendTextAsync("a", Ct);
            await clients[^1].SendTextAsync("b", Ct);

            foreach (WebSocketConnection client in clients)
            {
                string[] got = [await ReceiveTextAsync(client), await ReceiveTextAsync(client), await ReceiveTextAsync(client), await ReceiveTextAsync(client), await ReceiveTextAsync(client), await ReceiveTextAsync(client)];

                // Each sender's three arrive in order; the two senders' callbacks may interleave with each other.
                Assert.Equal(["a1", "a2", "a3"], got.Where(m => m[0] == 'a'));
                Assert.Equal(["b1", "b2", "b3"], got.Where(m => m[0] == 'b'));
            }
        }
        finally
        {
            foreach (WebSocketConnection client in clients)
            {
                client.Abort();
            }
        }
    }

    private static async Task<string> ReceiveTextAsync(WebSocketConnection client)
    {
        using WebSocketMessage? message = await client.ReceiveAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.NotNull(message);
        return message.GetText();
    }
}
