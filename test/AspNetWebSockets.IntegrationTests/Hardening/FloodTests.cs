using System.Net.Sockets;
using AspNetWebSockets.IntegrationTests.Hosting;
using AspNetWebSockets.Testing;
using AspNetWebSockets.TestShared;

namespace AspNetWebSockets.IntegrationTests.Hardening;

/// <summary>
/// Control-frame and fragment floods from a peer that never reads (issue #4, ADVISORIES 6 and 19): the server's memory
/// stays bounded, other connections stay served, nothing crashes.
/// </summary>
/// <remarks>
/// Why memory stays bounded under a ping flood: a ping is answered by the receive loop, which awaits the pong's flush
/// before it reads the next frame. A peer that does not read fills its receive window, the flush waits, the receive
/// loop stops reading, Kestrel stops reading the socket once its input buffer is full, and the peer's own sends block:
/// TCP flow control, end to end, and no queue of pongs anywhere. Keep-alive then sees no progress and aborts (1006).
/// </remarks>
[Collection(HardeningCollection.Name)]
public sealed class FloodTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<TestApp> StartEchoAsync(Action<WebSocketServerOptions>? configure = null, Counter? ended = null) => TestApp.StartAsync(
        HardeningCollection.Transport,
        a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
        {
            try
            {
                await foreach (WebSocketMessage message in socket.ReadAllAsync())
                {
                    await socket.SendAsync(message.Data, message.Type, Ct);
                }
            }
            finally
            {
                ended?.Increment();
            }
        }),
        configure);

    [Fact]
    public async Task A_ping_flood_from_a_peer_that_never_reads_is_backpressured_then_dropped_and_others_stay_served()
    {
        using var watch = new LeakWatch();
        var ended = new Counter();
        await using TestApp app = await StartEchoAsync(
            o =>
            {
                o.KeepAliveInterval = TimeSpan.FromSeconds(1);
                o.KeepAliveTimeout = TimeSpan.FromSeconds(2);
            },
            ended);
        // Small client socket buffers, so what the kernel can absorb is far below the flood on any machine's defaults.
        using RawWebSocketClient flooder = await RawWebSocketClient.ConnectAsync(app.HttpAddress, "/ws", socketBufferSize: 64 * 1024);

        // Up to 100,000 pings of 125 bytes: 12.7 MB of pongs owed to a peer that reads none of them. Written in batches
        // of 1,000; once a batch cannot be written within 5 s the server has stopped reading (backpressure), and the
        // flood stops there — the loop is bounded both in count and in time.
        byte[] ping = Frames.BuildWithFixedKey(Opcode.Ping, new byte[125]);
        byte[] batch = [.. Enumerable.Range(0, 1000).SelectMany(_ => ping)];
        int batchesSent = 0;
        bool stalled = false;
        for (; batchesSent < 100 && !stalled; batchesSent++)
        {
            using var stall = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await flooder.SendAsync(batch, stall.Token);
            }
            catch (OperationCanceledException) when (stall.IsCancellationRequested)
            {
                stalled = true;
            }
            catch (SocketException)
            {
                stalled = true; // keep-alive already dropped us
            }
        }

        // The server did not swallow the whole flood: something (TCP flow control) pushed back on the sender.
        Assert.True(stalled, $"All {batchesSent * 1000} pings were accepted without the peer reading a single pong.");

        // Meanwhile another client is served normally.
        await using (WebSocketConnection other = await WebSocketTestClient.ConnectAsync(new Uri(app.WebSocketAddress, "/ws"), cancellationToken: Ct))
        {
            await other.SendTextAsync("hello", Ct);
            using WebSocketMessage? echo = await other.ReceiveAsync(Ct);
            Assert.Equal("hello", echo?.GetText());
            await other.CloseAsync(1000, null, Ct);
        }

        // The flooder makes no progress, so keep-alive aborts it; its handler ends and the connection is released.
        Assert.True(await flooder.WaitForServerCloseAsync(TimeSpan.FromSeconds(30)), "The stalled flooder was never dropped.");
        Assert.Equal(0, await LeakWatch.OpenConnectionsAfterDrainAsync(app));
        Assert.Equal(2, ended.Value);

        // 12.7 MB were owed; a pong queue would have kept them. Generous bound for everything else the host holds.
        long growth = watch.GrowthBytes();
        TestContext.Current.TestOutputHelper?.WriteLine($"pings accepted before the stall: {batchesSent * 1000:N0}; managed memory growth: {growth:N0} bytes");
        Assert.True(growth < 8 * 1024 * 1024, $"Managed memory grew by {growth:N0} bytes.");
        watch.AssertNoUnobservedTaskExceptions();
    }

    [Fact]
    public async Task A_pong_flood_is_ignored_and_the_connection_keeps_working()
    {
        await using TestApp app = await StartEchoAsync();
        using RawWebSocketClient client = await RawWebSocketClient.ConnectAsync(app.HttpAddress, "/ws");

        // 100,000 unsolicited pongs (RFC 6455 §5.5.3 allows them; no response is owed), in batches, then a message.
        byte[] pong = Frames.BuildWithFixedKey(Opcode.Pong, "x"u8);
        byte[] batch = [.. Enumerable.Range(0, 10_000).SelectMany(_ => pong)];
        for (int i = 0; i < 10; i++)
        {
            await client.SendAsync(batch, Ct);
        }

        await client.SendAsync(Frames.BuildWithFixedKey(Opcode.Text, "after the flood"u8), Ct);

        (byte opcode, byte[] payload) = await client.ReadFrameAsync();
        Assert.Equal(0x1, opcode);
        Assert.Equal("after the flood", Encoding.UTF8.GetString(payload));
        await client.SendAsync(Frames.BuildWithFixedKey(Opcode.Close, Frames.ClosePayload(1000)), Ct);
        Assert.Equal(1000, await client.ReadUntilCloseAsync());
    }

    [Fact]
    public async Task Answered_pings_all_get_their_pong_in_order_when_the_peer_reads()
    {
        await using TestApp app = await StartEchoAsync();
        using RawWebSocketClient client = await RawWebSocketClient.ConnectAsync(app.HttpAddress, "/ws");
        const int Pings = 20_000;

        // Reader and writer run together so neither side's buffers fill.
        Task<int> reader = Task.Run(async () =>
        {
            int expected = 0;
            while (expected < Pings)
            {
                (byte opcode, byte[] payload) = await client.ReadFrameAsync();
                Assert.Equal(0xA, opcode);
                Assert.Equal(expected, BitConverter.ToInt32(payload));
                expected++;
            }

            return expected;
        }, Ct);
        for (int i = 0; i < Pings; i++)
        {
            await client.SendAsync(Frames.BuildWithFixedKey(Opcode.Ping, BitConverter.GetBytes(i)), Ct);
        }

        Assert.Equal(Pings, await reader.WaitAsync(TimeSpan.FromSeconds(60), Ct));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task A_million_tiny_continuation_fragments_stop_at_the_fragment_limit_with_1008(int fragmentSize)
    {
        var ended = new Counter();
        await using TestApp app = await StartEchoAsync(ended: ended); // default MaxFragmentsPerMessage: 4096
        using RawWebSocketClient client = await RawWebSocketClient.ConnectAsync(app.HttpAddress, "/ws");

        await client.SendAsync(Frames.BuildWithFixedKey(Opcode.Binary, new byte[fragmentSize], fin: false), Ct);
        byte[] continuation = Frames.BuildWithFixedKey(Opcode.Continuation, new byte[fragmentSize], fin: false);
        byte[] batch = [.. Enumerable.Range(0, 10_000).SelectMany(_ => continuation)];

        // Up to 10^6 continuations in 100 batches; the server fails the connection long before, so writes start failing.
        Task<int?> close = client.ReadUntilCloseAsync(TimeSpan.FromSeconds(30));
        for (int i = 0; i < 100 && !close.IsCompleted; i++)
        {
            try
            {
                using var stall = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await client.SendAsync(batch, stall.Token);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                break;
            }
        }

        Assert.Equal(1008, await close);
        Assert.Equal(0, await LeakWatch.OpenConnectionsAfterDrainAsync(app));
        Assert.Equal(1, ended.Value);
    }
}
