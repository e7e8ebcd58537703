using AspNetWebSockets.Testing;

namespace AspNetWebSockets.IntegrationTests.Hardening;

/// <summary>Many test clients on one Kestrel app: connected in waves, each with a read pending, and released together.</summary>
internal static class ClientWaves
{
    private const int WaveSize = 50;

    /// <summary>
    /// Connects <paramref name="clients"/>.Length clients to <paramref name="path"/> in waves of 50, so the accept queue and
    /// the machine are not swamped, and starts a receive on each (a pending read answers the server's close).
    /// </summary>
    public static async Task ConnectAsync(TestApp app, string path, WebSocketConnection[] clients, Task<WebSocketMessage?>[] receives)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        for (int wave = 0; wave < clients.Length; wave += WaveSize)
        {
            await Task.WhenAll(Enumerable.Range(wave, Math.Min(WaveSize, clients.Length - wave)).Select(async i =>
            {
                clients[i] = await WebSocketTestClient.ConnectAsync(new Uri(app.WebSocketAddress, path), cancellationToken: ct);
                receives[i] = clients[i].ReceiveAsync(ct).AsTask();
            }));
        }
    }

    /// <summary>Disposes the clients that connected, then the app.</summary>
    public static async Task DisposeAsync(WebSocketConnection?[] clients, TestApp app)
    {
        foreach (WebSocketConnection? client in clients)
        {
            if (client is not null)
            {
                await client.DisposeAsync();
            }
        }

        await app.DisposeAsync();
    }
}
