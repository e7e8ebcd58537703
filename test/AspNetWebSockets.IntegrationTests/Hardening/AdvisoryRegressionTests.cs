using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using AspNetWebSockets.TestShared;

namespace AspNetWebSockets.IntegrationTests.Hardening;

/// <summary>
/// Regression tests for entries of ADVISORIES.md that no other test covered (see docs/advisories.md for the map):
/// pooled-memory disclosure (7), end of stream inside a frame header (11), deflate peers that break what they agreed
/// (16), keep-alive on by default (20), and what does — and does not — bound a peer that drips bytes after the upgrade.
/// </summary>
[Collection(HardeningCollection.Name)]
public sealed class AdvisoryRegressionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<TestApp> StartEchoAsync(Action<WebSocketServerOptions>? configure = null, bool compression = false) => TestApp.StartAsync(
        HardeningCollection.Transport,
        a =>
        {
            WebSocketEndpointConventionBuilder endpoint = a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
            {
                await foreach (WebSocketMessage message in socket.ReadAllAsync())
                {
                    await socket.SendAsync(message.Data, message.Type);
                }
            });
            if (compression)
            {
                endpoint.WithCompression();
            }
        },
        configure);

    /// <summary>Fills the shared pool with rentals full of 0xEE, so bytes read past a written length would show.</summary>
    private static void PoisonSharedPool()
    {
        var rented = new List<byte[]>();
        for (int size = 1; size <= 64 * 1024; size *= 2)
        {
            for (int i = 0; i < 32; i++)
            {
                byte[] array = ArrayPool<byte>.Shared.Rent(size);
                array.AsSpan().Fill(0xEE);
                rented.Add(array);
            }
        }

        foreach (byte[] array in rented)
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }

    // ADVISORIES 7 (ws 8.20.1 c0327ec, ws 1.0.1): a close reason, a text message and a pong built in pooled buffers must
    // carry exactly the bytes written — never the rest of the rental.
    [Fact]
    public async Task Frames_built_in_pooled_buffers_carry_exactly_the_bytes_written_ADVISORIES_7()
    {
        await using TestApp app = await TestApp.StartAsync(HardeningCollection.Transport, a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
        {
            using (WebSocketMessage? go = await socket.ReceiveAsync())
            {
            }

            PoisonSharedPool();
            await socket.SendTextAsync("héllo");              // UTF-16 → UTF-8 in a rented buffer
            await socket.SendBinaryAsync(new byte[] { 1, 2, 3 });
            PoisonSharedPool();
            await socket.CloseAsync(4000, "réason");          // reason encoded into a rented buffer
        }));
        using RawWebSocketClient client = await RawWebSocketClient.ConnectAsync(app.HttpAddress, "/ws");

        PoisonSharedPool();
        await client.SendAsync(Frames.BuildWithFixedKey(Opcode.Ping, []), Ct);         // pongs are copied out through a rental too
        await client.SendAsync(Frames.BuildWithFixedKey(Opcode.Ping, "abc"u8), Ct);
        await client.SendAsync(Frames.BuildWithFixedKey(Opcode.Text, "go"u8), Ct);

        var frames = new List<Frame>();
        for (int i = 0; i < 5; i++)
        {
            frames.Add(await client.ReadFrameAsync());
        }

        Assert.Equal((byte)0xA, frames[0].Opcode);
        Assert.Empty(frames[0].Payload);
        Assert.Equal((byte)0xA, frames[1].Opcode);
        Assert.Equal("abc"u8.ToArray(), frames[1].Payload);
        Assert.Equal((byte)0x1, frames[2].Opcode);
        Assert.Equal(Encoding.UTF8.GetBytes("héllo"), frames[2].Payload);
        Assert.Equal((byte)0x2, frames[3].Opcode);
        Assert.Equal(new byte[] { 1, 2, 3 }, frames[3].Payload);
        Assert.Equal((byte)0x8, frames[4].Opcode);
        Assert.Equal([0x0f, 0xa0, .. Encoding.UTF8.GetBytes("réason")], frames[4].Payload);
    }

    // ADVISORIES 11 (.NET CVE-2021-26423): the end of the stream in the middle of a frame header must end the
    // connection (1006), never loop waiting for bytes that cannot come.
    [Theory]
    [InlineData(1)] // only the first header byte
    [InlineData(3)] // inside the 16-bit extended length
    [InlineData(9)] // inside the 64-bit extended length
    public async Task End_of_stream_inside_a_frame_header_ends_the_connection_ADVISORIES_11(int headerBytes)
    {
        var closed = new TaskCompletionSource<WebSocketCloseInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(HardeningCollection.Transport, a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
        {
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
            }

            closed.SetResult(await socket.Closed);
        }));
        using RawWebSocketClient client = await RawWebSocketClient.ConnectAsync(app.HttpAddress, "/ws");
        byte[] frame = Frames.BuildWithFixedKey(Opcode.Binary, new byte[70_000]); // 64-bit length form: a 14-byte header

        await client.SendAsync(frame.AsMemory(0, headerBytes), Ct);
        client.ShutdownSend();

        Assert.Equal(new WebSocketCloseInfo(1006, string.Empty, WasClean: false), await closed.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        Assert.Equal(0, await LeakWatch.OpenConnectionsAfterDrainAsync(app));
    }

    /// <summary>Raw DEFLATE of each message through one shared compressor (context takeover), sync-flushed, tails stripped (RFC 7692 §7.2.1).</summary>
    private static List<byte[]> CompressWithContextTakeover(params byte[][] messages)
    {
        var output = new MemoryStream();
        var pieces = new List<byte[]>();
        using var deflate = new DeflateStream(output, CompressionLevel.SmallestSize, leaveOpen: true);
        int start = 0;
        foreach (byte[] message in messages)
        {
            deflate.Write(message);
            deflate.Flush(); // Z_SYNC_FLUSH: the block ends with 00 00 FF FF
            byte[] all = output.ToArray();
            Assert.Equal([0x00, 0x00, 0xFF, 0xFF], all[^4..]);
            pieces.Add(all[start..^4]);
            start = all.Length;
        }

        return pieces;
    }

    private static async Task<RawWebSocketClient> ConnectDeflateAsync(TestApp app, string offer, string expectedResponse)
    {
        RawWebSocketClient client = await RawWebSocketClient.ConnectAsync(app.HttpAddress, "/ws", headers: [("Sec-WebSocket-Extensions", offer)]);
        Assert.Contains("Sec-WebSocket-Extensions: " + expectedResponse + "\r\n", client.ResponseHead + "\r\n", StringComparison.OrdinalIgnoreCase);
        return client;
    }

    // ADVISORIES 16: the peer agreed client_no_context_takeover, then compressed its second message against the first
    // anyway. The server's inflater starts empty for every message, so the back-reference is invalid data: 1007.
    [Fact]
    public async Task A_peer_that_ignores_client_no_context_takeover_fails_with_1007_ADVISORIES_16()
    {
        await using TestApp app = await StartEchoAsync(compression: true);
        using RawWebSocketClient client = await ConnectDeflateAsync(app, "permessage-deflate; client_no_context_takeover", "permessage-deflate; client_no_context_takeover");
        byte[] text = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 40).Select(i => $"message {i * 7919 % 1000:D3};")));
        List<byte[]> compressed = CompressWithContextTakeover(text, text);
        Assert.True(compressed[1].Length < 20, "The second message should be a bare back-reference into the first.");

        await client.SendAsync(Frames.BuildWithFixedKey(Opcode.Text, compressed[0], rsv: Frames.Rsv1), Ct);
        (byte opcode, byte[] echo) = await client.ReadFrameAsync();
        Assert.Equal((byte)0x1, opcode); // the first message is fine (sent back uncompressed or compressed; only its arrival matters)

        await client.SendAsync(Frames.BuildWithFixedKey(Opcode.Text, compressed[1], rsv: Frames.Rsv1), Ct);
        Assert.Equal(1007, await client.ReadUntilCloseAsync());
    }

    // ADVISORIES 16 (runtime#50235): a window smaller than the one the peer then uses. The server inflates with the
    // agreed 9-bit (512-byte) window; a back-reference 3000 bytes back lies outside it. zlib may still resolve it from
    // the output it holds, so the rule tested is the safe one: the message is either delivered exactly or refused with
    // 1007 — never altered, never a crash — and the result is the same every time.
    [Fact]
    public async Task A_peer_that_uses_a_larger_window_than_agreed_gets_its_exact_message_or_1007_ADVISORIES_16()
    {
        await using TestApp app = await StartEchoAsync(compression: true);
        byte[] block = new byte[3000];
        new Random(16).NextBytes(block);
        for (int i = 0; i < block.Length; i++)
        {
            block[i] = (byte)('a' + (block[i] % 26)); // text, so the echo can be text too
        }

        byte[] message = [.. block, .. block];
        byte[] compressed = CompressWithContextTakeover(message)[0];
        Assert.True(compressed.Length < message.Length * 3 / 4, "The second copy should be a far back-reference.");

        var outcomes = new List<string>();
        for (int attempt = 0; attempt < 3; attempt++)
        {
            using RawWebSocketClient client = await ConnectDeflateAsync(app, "permessage-deflate; client_max_window_bits=9", "permessage-deflate; client_max_window_bits=9");
            await client.SendAsync(Frames.BuildWithFixedKey(Opcode.Text, compressed, rsv: Frames.Rsv1), Ct);
            (byte opcode, byte[] payload) = await client.ReadFrameAsync();
            if (opcode == 0x8)
            {
                Assert.Equal(1007, BinaryPrimitives.ReadUInt16BigEndian(payload));
                outcomes.Add("1007");
            }
            else
            {
                Assert.Equal((byte)0x1, opcode);
                byte[] received = payload;
                if (received.Length != message.Length)
                {
                    // The echo may itself be compressed (RSV1); inflate it with a window-15 raw inflater.
                    using var inflate = new DeflateStream(new MemoryStream([.. payload, 0x00, 0x00, 0xFF, 0xFF]), CompressionMode.Decompress);
                    var plain = new MemoryStream();
                    inflate.CopyTo(plain);
                    received = plain.ToArray();
                }

                Assert.Equal(message, received);
                outcomes.Add("exact");
            }
        }

        Assert.Single(outcomes.Distinct());
        TestContext.Current.TestOutputHelper?.WriteLine($"outcome: {outcomes[0]}");
    }

    // ADVISORIES 20: idle and keep-alive timeouts are on by default, and so is the handshake timeout.
    [Fact]
    public void Idle_keep_alive_close_and_handshake_timeouts_are_on_by_default_ADVISORIES_20()
    {
        var defaults = new WebSocketServerOptions();

        Assert.Equal(TimeSpan.FromSeconds(30), defaults.KeepAliveInterval);
        Assert.Equal(TimeSpan.FromSeconds(30), defaults.KeepAliveTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), defaults.CloseTimeout);
        Assert.Equal(TimeSpan.FromSeconds(10), defaults.HandshakeTimeout);
    }

    // After the upgrade, any byte counts as life (that is what lets keep-alive work without a pending receive), so a
    // peer dripping one byte at a time is never dropped by keep-alive even when it answers no ping: keep-alive bounds
    // silence, MaxMessageSize/MaxFrameSize/MaxFragmentsPerMessage bound memory, and neither bounds time. Documented.
    [Fact]
    public async Task A_peer_dripping_a_frame_after_the_upgrade_outlives_keep_alive_because_bytes_are_life()
    {
        await using TestApp app = await StartEchoAsync(o =>
        {
            o.KeepAliveInterval = TimeSpan.FromMilliseconds(500);
            o.KeepAliveTimeout = TimeSpan.FromSeconds(2);
        });
        using RawWebSocketClient client = await RawWebSocketClient.ConnectAsync(app.HttpAddress, "/ws");
        byte[] frame = Frames.BuildWithFixedKey(Opcode.Text, "drip drip drip drip drip drip drip drip!"u8); // 46 bytes: ~4.6 s, over twice the timeout

        // A byte every 100 ms: gaps 20 times shorter than the keep-alive timeout, so a loaded machine cannot fake silence.
        for (int i = 0; i < frame.Length; i++)
        {
            await client.SendAsync(frame.AsMemory(i, 1), Ct);
            await Task.Delay(100, Ct);
        }

        // Pings arrived meanwhile and were never answered; the echo still comes.
        for (int frames = 0; frames < 100; frames++)
        {
            (byte opcode, byte[] payload) = await client.ReadFrameAsync();
            Assert.NotEqual((byte)0x8, opcode);
            if (opcode == 0x1)
            {
                Assert.Equal("drip drip drip drip drip drip drip drip!", Encoding.UTF8.GetString(payload));
                return;
            }
        }

        Assert.Fail("No echo after 100 frames.");
    }

    // The documented way to put a time bound on a message: a deadline on ReceiveAsync, then a policy close.
    [Fact]
    public async Task An_application_deadline_on_ReceiveAsync_bounds_a_dripping_peer()
    {
        var outcome = new TaskCompletionSource<WebSocketCloseInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(HardeningCollection.Transport, a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            try
            {
                using WebSocketMessage? message = await socket.ReceiveAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                try
                {
                    await socket.CloseAsync(WebSocketCloseCode.PolicyViolation, "message too slow");
                }
                catch (WebSocketException)
                {
                    // The peer may reset before answering; Closed tells what happened.
                }
            }

            outcome.SetResult(await socket.Closed);
        }));
        using RawWebSocketClient client = await RawWebSocketClient.ConnectAsync(app.HttpAddress, "/ws");
        byte[] frame = Frames.BuildWithFixedKey(Opcode.Text, new byte[100]);
        Task<int?> close = client.ReadUntilCloseAsync();

        // One byte every 250 ms, bounded by the frame's length (~27 s) and stopped by the server's close.
        for (int i = 0; i < frame.Length && !close.IsCompleted; i++)
        {
            await client.SendAsync(frame.AsMemory(i, 1), Ct);
            await Task.Delay(250, Ct);
        }

        Assert.Equal(WebSocketCloseCode.PolicyViolation, await close.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        client.Reset();
        WebSocketCloseInfo closed = await outcome.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.False(closed.WasClean); // the peer never finished the close handshake
    }
}
