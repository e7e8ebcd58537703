using System.Buffers.Binary;
using AspNetWebSockets.TestShared;

namespace AspNetWebSockets.IntegrationTests.Connection;

/// <summary>
/// The control reader: while the server application is not reading, control frames at the head of the input are still
/// answered (ping), recorded (pong) and acted on (close); a data frame stops it and stays for the application.
/// Raw client frames, so exactly what is on the wire (and in which order) is under the test's control.
/// </summary>
public sealed class IdleControlFrameTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<TransportMode> KestrelModes => new(TransportMode.KestrelPipes, TransportMode.KestrelStream);

    /// <summary>Only the client pings (a raw client does not answer the server's pings); the heartbeat still ticks.</summary>
    private static void NoServerPings(WebSocketServerOptions o) => o.KeepAliveInterval = Timeout.InfiniteTimeSpan;

    [Theory]
    [MemberData(nameof(KestrelModes))]
    public async Task Pings_are_answered_while_the_handler_only_sends(TransportMode mode)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
        {
            // A push-only feed: it never calls ReceiveAsync. Bounded in count; each tick waits a little.
            for (int i = 0; i < 1500 && !release.Task.IsCompleted; i++)
            {
                await socket.SendTextAsync("tick");
                await Task.WhenAny(release.Task, Task.Delay(20));
            }
        }), NoServerPings);
        using RawWebSocketClient client = await RawWebSocketClient.ConnectAsync(app.HttpAddress, "/ws");

        for (int ping = 0; ping < 3; ping++)
        {
            byte[] payload = Encoding.ASCII.GetBytes($"ping-{ping}");
            await client.SendAsync(Frames.BuildWithFixedKey(Opcode.Ping, payload), Ct);
            byte[] pong = await ReadUntilAsync(client, Opcode.Pong);
            Assert.Equal(payload, pong);
        }

        release.SetResult();
        Assert.Equal(1000, await client.ReadUntilCloseAsync());
    }

    [Theory]
    [MemberData(nameof(KestrelModes))]
    public async Task Ping_behind_a_data_frame_is_answered_after_the_application_reads_the_data(TransportMode mode)
    {
        var read = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", async (WebSocketConnection socket, CancellationToken ct) =>
        {
            await read.Task.WaitAsync(ct);
            using WebSocketMessage? message = await socket.ReceiveAsync(ct);
            await socket.SendTextAsync("got:" + (message is null ? "null" : message.GetText()), ct);
            await release.Task.WaitAsync(ct); // not reading again: the ping is the control reader's
        }), NoServerPings);
        using RawWebSocketClient client = await RawWebSocketClient.ConnectAsync(app.HttpAddress, "/ws");

        await client.SendAsync((byte[])[.. Frames.BuildWithFixedKey(Opcode.Text, "hello"u8), .. Frames.BuildWithFixedKey(Opcode.Ping, "behind"u8)], Ct);

        // Several heartbeat ticks (1 s each here) pass with the data frame unread at the head: the ping behind it must
        // wait, since answering it would mean consuming (or buffering) the application's data.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.ReadFrameAsync(TimeSpan.FromSeconds(2.5)));

        read.SetResult();
        (byte opcode, byte[] payload) = await client.ReadFrameAsync(TimeSpan.FromSeconds(30));
        byte[] pong = await ReadUntilAsync(client, Opcode.Pong, opcode == Opcode.Pong ? payload : null);
        Assert.Equal("behind"u8.ToArray(), pong);
        if (opcode == Opcode.Pong)
        {
            Assert.Equal("got:hello", Encoding.UTF8.GetString((await client.ReadFrameAsync(TimeSpan.FromSeconds(30))).Payload));
        }
        else
        {
            Assert.Equal(Opcode.Text, opcode);
            Assert.Equal("got:hello", Encoding.UTF8.GetString(payload));
        }

        release.SetResult();
        Assert.Equal(1000, await client.ReadUntilCloseAsync());
    }

    [Theory]
    [MemberData(nameof(KestrelModes))]
    public async Task Close_while_not_reading_completes_Closed_and_the_next_receive_returns_null(TransportMode mode)
    {
        var outcome = new TaskCompletionSource<(WebSocketCloseInfo Closed, bool ReceivedNull)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
        {
            // No receive until the close handshake has completed on its own. (The handler's token would be cancelled
            // by then: it is the connection's ConnectionClosed.)
            WebSocketCloseInfo closed = await socket.Closed.WaitAsync(TimeSpan.FromSeconds(30));
            using WebSocketMessage? next = await socket.ReceiveAsync();
            outcome.SetResult((closed, next is null));
        }), NoServerPings);
        using RawWebSocketClient client = await RawWebSocketClient.ConnectAsync(app.HttpAddress, "/ws");

        await client.SendAsync((byte[])[.. Frames.BuildWithFixedKey(Opcode.Ping, "first"u8), .. Frames.BuildWithFixedKey(Opcode.Close, [0x03, 0xE8, .. "bye"u8])], Ct);

        Assert.Equal(1000, await client.ReadUntilCloseAsync()); // the echo; the ping before the close needs no answer
        (WebSocketCloseInfo closedInfo, bool receivedNull) = await outcome.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Equal(new WebSocketCloseInfo(1000, "bye", WasClean: true), closedInfo);
        Assert.True(receivedNull);
        Assert.True(await client.WaitForServerCloseAsync(TimeSpan.FromSeconds(30)));
    }

    [Theory]
    [MemberData(nameof(KestrelModes))]
    public async Task Pongs_while_not_reading_keep_the_connection_alive_and_leave_data_intact(TransportMode mode)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var received = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        WebSocketConnection? server = null;
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", async (WebSocketConnection socket, CancellationToken ct) =>
        {
            server = socket;
            await release.Task.WaitAsync(ct); // no receive pending until the end
            using WebSocketMessage? message = await socket.ReceiveAsync(ct);
            received.SetResult(message?.GetText());
        }), o =>
        {
            o.KeepAliveInterval = TimeSpan.FromMilliseconds(200);
            o.KeepAliveTimeout = TimeSpan.FromSeconds(5);
        });
        using RawWebSocketClient client = await RawWebSocketClient.ConnectAsync(app.HttpAddress, "/ws");

        // Answer eight of the server's keep-alive pings (one per 200 ms of silence); the pongs are consumed by the
        // control reader, so each later ping again follows real silence rather than an unread backlog.
        for (int answered = 0; answered < 8;)
        {
            (byte opcode, byte[] payload) = await client.ReadFrameAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(Opcode.Ping, opcode);
            await client.SendAsync(Frames.BuildWithFixedKey(Opcode.Pong, payload), Ct);
            answered++;
        }

        Assert.NotNull(server);
        Assert.Equal(WebSocketReadyState.Open, server.ReadyState);
        await client.SendAsync(Frames.BuildWithFixedKey(Opcode.Text, "after the pongs"u8), Ct);
        release.SetResult();
        Assert.Equal("after the pongs", await received.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct));
    }

    [Theory]
    [MemberData(nameof(KestrelModes))]
    public async Task Application_receives_racing_the_control_reader_lose_and_duplicate_nothing(TransportMode mode)
    {
        const int Messages = 500;
        var received = new List<string>(Messages);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", async (WebSocketConnection socket, CancellationToken ct) =>
        {
            // Pauses between receives leave the input to the control reader, which the fast heartbeat below runs often.
            for (int i = 0; i < Messages; i++)
            {
                using WebSocketMessage? message = await socket.ReceiveAsync(ct);
                if (message is null)
                {
                    break;
                }

                received.Add(message.GetText());
                if (i % 3 == 0)
                {
                    await Task.Delay(1, ct);
                }
            }

            done.SetResult();
            await socket.CloseAsync(1000, "done", ct);
        }), o =>
        {
            o.KeepAliveInterval = TimeSpan.FromMilliseconds(40); // a 10 ms heartbeat tick
            o.KeepAliveTimeout = TimeSpan.FromSeconds(30);
        });
        using RawWebSocketClient client = await RawWebSocketClient.ConnectAsync(app.HttpAddress, "/ws");
        using var sendLock = new SemaphoreSlim(1, 1);
        using CancellationTokenSource bound = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bound.CancelAfter(TimeSpan.FromSeconds(120));

        // The client's reader answers the server's keep-alive pings and collects our pongs until the server closes.
        var pongs = new List<int>();
        Task<int?> reader = Task.Run(async () =>
        {
            for (int frames = 0; frames < 1_000_000; frames++)
            {
                (byte opcode, byte[] payload) = await client.ReadFrameAsync(TimeSpan.FromSeconds(120));
                switch (opcode)
                {
                    case Opcode.Ping:
                        await SendLockedAsync(sendLock, client, Frames.BuildWithFixedKey(Opcode.Pong, payload), bound.Token);
                        break;
                    case Opcode.Pong:
                        pongs.Add(BinaryPrimitives.ReadInt32BigEndian(payload));
                        break;
                    case Opcode.Close:
                        return payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(payload) : (int?)null;
                }
            }

            return null;
        }, bound.Token);

        var random = new Random(6455);
        byte[] pingPayload = new byte[4];
        for (int i = 0; i < Messages; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(pingPayload, i);
            byte[] wire = [.. Frames.BuildWithFixedKey(Opcode.Ping, pingPayload), .. Frames.BuildWithFixedKey(Opcode.Text, Encoding.ASCII.GetBytes(i.ToString()))];

            // Split at a random point, so frames (control and data) also reach the server in pieces. Both halves go out
            // under one hold of the lock: a pong from the reader between them would land inside a frame.
            int split = random.Next(1, wire.Length);
            await sendLock.WaitAsync(bound.Token);
            try
            {
                await client.SendAsync(wire.AsMemory(0, split), bound.Token);
                if (random.Next(4) == 0)
                {
                    await Task.Delay(random.Next(0, 3), bound.Token);
                }

                await client.SendAsync(wire.AsMemory(split), bound.Token);
            }
            finally
            {
                sendLock.Release();
            }
        }

        await done.Task.WaitAsync(bound.Token);
        Assert.Equal(Enumerable.Range(0, Messages).Select(i => i.ToString()), received);
        Assert.Equal(1000, await reader.WaitAsync(bound.Token));
        Assert.NotEmpty(pongs);
        Assert.Equal(pongs.Distinct().Count(), pongs.Count); // a ping consumed twice would be answered twice
        Assert.All(pongs, p => Assert.InRange(p, 0, Messages - 1));
        await SendLockedAsync(sendLock, client, Frames.BuildWithFixedKey(Opcode.Close, Frames.ClosePayload(1000)), bound.Token);
    }

    private static async Task SendLockedAsync(SemaphoreSlim sendLock, RawWebSocketClient client, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        await sendLock.WaitAsync(cancellationToken);
        try
        {
            await client.SendAsync(bytes, cancellationToken);
        }
        finally
        {
            sendLock.Release();
        }
    }

    /// <summary>Reads frames until one with <paramref name="opcode"/> and returns its payload (or <paramref name="already"/>).</summary>
    private static async Task<byte[]> ReadUntilAsync(RawWebSocketClient client, byte opcode, byte[]? already = null)
    {
        if (already is not null)
        {
            return already;
        }

        for (int frames = 0; frames < 10_000; frames++)
        {
            (byte found, byte[] payload) = await client.ReadFrameAsync(TimeSpan.FromSeconds(30));
            Assert.NotEqual(Opcode.Close, found);
            if (found == opcode)
            {
                return payload;
            }
        }

        Assert.Fail($"No frame with opcode {opcode} within 10000 frames.");
        return [];
    }
}
