namespace AspNetWebSockets.IntegrationTests.Broadcast;

/// <summary>Broadcast to members with and without permessage-deflate, checked by ClientWebSocket's own inflater.</summary>
public sealed class CompressedBroadcastTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Members_with_and_without_context_takeover_and_without_compression_all_get_every_broadcast_intact()
    {
        var joined = new SemaphoreSlim(0);
        await using TestApp app = await TestApp.StartAsync(
            TransportMode.KestrelPipes,
            a => a.MapWebSocket("/room", async (WebSocketConnection socket, IWebSocketGroups groups) =>
            {
                await groups.AddAsync(socket, "room");
                joined.Release();
                await foreach (WebSocketMessage message in socket.ReadAllAsync())
                {
                }
            }).WithCompression(),
            services: s => s.AddWebSocketGroups());

        var clients = new List<ClientWebSocket>();
        foreach (WebSocketDeflateOptions? deflate in new WebSocketDeflateOptions?[] { new() { ServerContextTakeover = false }, new() { ServerContextTakeover = false }, new(), null })
        {
            var client = new ClientWebSocket();
            client.Options.DangerousDeflateOptions = deflate;
            await client.ConnectAsync(new Uri(app.WebSocketAddress, "/room"), Ct);
            clients.Add(client);
            Assert.True(await joined.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        }

        IWebSocketGroups groups = app.App.Services.GetRequiredService<IWebSocketGroups>();
        for (int i = 0; i < 10; i++)
        {
            await groups.SendToGroupAsync("room", string.Concat(Enumerable.Repeat($"broadcast {i} ", 100)), cancellationToken: Ct);
        }

        byte[] buffer = new byte[64 * 1024];
        foreach (ClientWebSocket client in clients)
        {
            for (int i = 0; i < 10; i++)
            {
                using var bound = CancellationTokenSource.CreateLinkedTokenSource(Ct);
                bound.CancelAfter(TimeSpan.FromSeconds(10));
                WebSocketReceiveResult result = await client.ReceiveAsync(buffer, bound.Token);
                Assert.True(result.EndOfMessage);
                Assert.Equal(string.Concat(Enumerable.Repeat($"broadcast {i} ", 100)), Encoding.UTF8.GetString(buffer, 0, result.Count));
            }

            client.Dispose();
        }
    }
}
