using AspNetWebSockets.Testing;

namespace AspNetWebSockets.IntegrationTests.Hosting;

/// <summary>Assertions shared by the hosting tests.</summary>
internal static class HostingAssert
{
    /// <summary>
    /// Asserts that connecting fails with <paramref name="status"/>. A connection that opens instead is closed at once,
    /// so a failing test does not leave the app waiting for it at shutdown.
    /// </summary>
    public static async Task<WebSocketHandshakeException> RefusedAsync(TestApp app, string path, int status, Action<WebSocketClientOptions>? configure = null)
    {
        WebSocketConnection connection;
        try
        {
            connection = await app.ConnectAsync(path, configure);
        }
        catch (WebSocketHandshakeException refused)
        {
            Assert.Equal(status, refused.StatusCode);
            return refused;
        }

        connection.Abort();
        Assert.Fail($"Expected the handshake to be refused with {status}, but the connection opened (subprotocol '{connection.Protocol}').");
        throw new InvalidOperationException("unreachable");
    }

    /// <summary>Polls <paramref name="condition"/> (every 20 ms, at most 10 s) until it holds; fails with <paramref name="message"/> otherwise.</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string message)
    {
        for (int i = 0; i < 500; i++)
        {
            if (condition())
            {
                return;
            }

            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.True(condition(), message);
    }
}
