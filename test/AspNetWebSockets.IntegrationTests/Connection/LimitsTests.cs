using AspNetWebSockets.Testing;

namespace AspNetWebSockets.IntegrationTests.Connection;

/// <summary>Server-wide limits: connection count and slow consumers.</summary>
public sealed class LimitsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task Connections_over_MaxConnections_get_503_and_a_freed_slot_is_reusable(TransportMode mode)
    {
        await using TestApp app = await TestApp.StartAsync(
            mode,
            a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
            {
                await foreach (WebSocketMessage message in socket.ReadAllAsync())
                {
                }
            }),
            o => o.MaxConnections = 2);

        WebSocketConnection first = await app.ConnectAsync("/ws");
        await using WebSocketConnection second = await app.ConnectAsync("/ws");
        WebSocketHandshakeException refused = await Assert.ThrowsAsync<WebSocketHandshakeException>(() => app.ConnectAsync("/ws"));
        Assert.Equal(503, refused.StatusCode);

        await first.CloseAsync(1000, null, Ct);
        await first.DisposeAsync();

        // The slot is released when the first connection's request ends; retry briefly (bounded) until it is.
        WebSocketConnection? third = null;
        for (int attempt = 0; attempt < 50 && third is null; attempt++)
        {
            try
            {
                third = await app.ConnectAsync("/ws");
            }
            catch (WebSocketHandshakeException e) when (e.StatusCode == 503)
            {
                await Task.Delay(20, Ct);
            }
        }

        Assert.NotNull(third);
        await third.DisposeAsync();
    }

    [Theory]
    [InlineData(TransportMode.KestrelPipes)]
    [InlineData(TransportMode.KestrelStream)]
    public async Task A_peer_that_never_reads_is_dropped_with_1008_under_the_drop_policy(TransportMode mode)
    {
        var outcome = new TaskCompletionSource<(Exception? Error, WebSocketCloseInfo Closed)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(
            mode,
            a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
            {
                using (WebSocketMessage? go = await socket.ReceiveAsync())
                {
                    // Flood only once the client is past its handshake; a drop before that would reset its connect.
                }

                byte[] chunk = new byte[256 * 1024];
                var sends = new List<Task>();
                Exception? error = null;
                try
                {
                    // A broadcaster that does not await each peer: sends pile up behind the one the peer will not read.
                    for (int i = 0; i < 64; i++)
                    {
                        sends.Add(socket.SendBinaryAsync(chunk).AsTask());
                    }

                    await Task.WhenAll(sends).WaitAsync(TimeSpan.FromSeconds(10));
                }
                catch (Exception e)
                {
                    error = e;
                }

                outcome.SetResult((error, await socket.Closed.WaitAsync(TimeSpan.FromSeconds(10))));
            }),
            o =>
            {
                o.MaxBufferedAmount = 1024 * 1024;
                o.SlowConsumerPolicy = WebSocketSlowConsumerPolicy.Drop;
            });
        await using WebSocketConnection client = await app.ConnectAsync("/ws"); // never reads
        await client.SendTextAsync("go", Ct);

        (Exception? error, WebSocketCloseInfo closed) = await outcome.Task.WaitAsync(TimeSpan.FromSeconds(20), Ct);

        Assert.IsType<WebSocketException>(error);
        Assert.Equal(new WebSocketCloseInfo(1008, "slow consumer", WasClean: false), closed);
    }

    [Fact]
    public async Task Under_backpressure_sends_wait_for_the_reader_and_all_arrive()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(
            TransportMode.KestrelPipes,
            a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
            {
                byte[] chunk = new byte[256 * 1024];
                var sends = new List<Task>();
                for (int i = 0; i < 64; i++) // 16 MiB: more than loopback socket buffers can absorb
                {
                    chunk[0] = (byte)i;
                    sends.Add(socket.SendBinaryAsync(chunk.ToArray()).AsTask());
                }

                await Task.WhenAll(sends);
                done.SetResult();
                await socket.CloseAsync();
            }),
            o => o.MaxBufferedAmount = 1024 * 1024); // Backpressure is the default policy
        await using WebSocketConnection client = await app.ConnectAsync("/ws", o => o.MaxMessageSize = 1024 * 1024);

        await Task.Delay(300, Ct); // the client is not reading yet: the sender is held back, not failed
        Assert.False(done.Task.IsCompleted);

        int received = 0;
        await foreach (WebSocketMessage message in client.ReadAllAsync(Ct))
        {
            Assert.Equal(256 * 1024, message.Length);
            received++;
        }

        Assert.Equal(64, received);
        await done.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
    }
}
