using System.Net.WebSockets;
using AspNetWebSockets.Protocol;
using AspNetWebSockets.Tests.Protocol;

namespace AspNetWebSockets.Tests.Connection;

/// <summary>
/// Corking: in the event-loop mode (auto-cork) what a handler sends while handling one read leaves in one flush per
/// connection; in the default mode each reply leaves at once; an explicit <see cref="WebSocketConnection.Cork"/> batches a
/// burst in either; sends from other threads, sends after the handler's run ended, pings and closes are not held back.
/// Flushes are counted where the transport sees them.
/// </summary>
public sealed class CorkingTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Replies_to_every_message_of_one_read_leave_in_one_flush()
    {
        await using var peer = new InMemoryPeer(autoCork: true);
        Task echo = EchoAsync(peer.Connection);

        // Warm up: the handler has echoed one message and is waiting for the next read.
        await peer.WriteAsync(Frames.Masked(WebSocketOpcode.Text, true, "warm-up"u8));
        Assert.Equal("warm-up", Text(Assert.Single(await peer.ReadFramesAsync(1))));
        await WaitUntilAsync(() => peer.Output.Flushes == 1); // the warm-up's echo
        int before = peer.Output.Flushes;

        const int Count = 50;
        await peer.WriteAsync(Frames.Concat([.. Enumerable.Range(0, Count).Select(i => Frames.Masked(WebSocketOpcode.Text, true, Encoding.UTF8.GetBytes("m" + i)))]));

        List<(WebSocketOpcode Opcode, byte[] Payload)> echoed = await peer.ReadFramesAsync(Count);
        Assert.Equal(Enumerable.Range(0, Count).Select(i => "m" + i), echoed.Select(Text));
        Assert.Equal(1, peer.Output.Flushes - before);
        Assert.False(echo.IsCompleted);
    }

    [Fact]
    public async Task In_the_default_mode_each_reply_leaves_at_once()
    {
        await using var peer = new InMemoryPeer();
        Task echo = EchoAsync(peer.Connection);
        const int Count = 20;
        await peer.WriteAsync(Frames.Concat([.. Enumerable.Range(0, Count).Select(i => Frames.Masked(WebSocketOpcode.Text, true, Encoding.UTF8.GetBytes("m" + i)))]));

        Assert.Equal(Count, (await peer.ReadFramesAsync(Count)).Count);
        Assert.Equal(Count, peer.Output.Flushes);
        Assert.False(echo.IsCompleted);
    }

    [Fact]
    public async Task A_ping_sent_while_handling_a_read_leaves_at_once_with_what_was_corked_before_it()
    {
        await using var peer = new InMemoryPeer(autoCork: true);
        using var release = new SemaphoreSlim(0);
        Task handler = Task.Run(async () =>
        {
            using WebSocketMessage? message = await peer.Connection.ReceiveAsync(Ct);
            await peer.Connection.SendTextAsync("a", Ct);
            _ = peer.Connection.PingAsync(Ct);

            // Still inside the read's callback: a handler blocking here on the peer's answer must not wait for its own cork.
            Assert.True(release.Wait(Timeout, Ct));
        }, Ct);

        await peer.WriteAsync(Frames.Masked(WebSocketOpcode.Text, true, "go"u8));
        List<(WebSocketOpcode Opcode, byte[] Payload)> frames = await peer.ReadFramesAsync(2);
        release.Release();
        Assert.Equal([WebSocketOpcode.Text, WebSocketOpcode.Ping], frames.Select(f => f.Opcode));
        await handler.WaitAsync(Timeout, Ct);
    }

    [Fact]
    public async Task Messages_a_handler_sends_to_another_connection_in_one_run_leave_in_one_flush_of_that_connection()
    {
        await using var sender = new InMemoryPeer(autoCork: true);
        await using var member = new InMemoryPeer(autoCork: true);
        Task relay = RelayAsync(sender.Connection, member.Connection);

        // Warm up: the relay has handled one message and waits for the next read.
        await sender.WriteAsync(Frames.Masked(WebSocketOpcode.Text, true, "warm-up"u8));
        Assert.Equal(3, (await member.ReadFramesAsync(3)).Count);
        await WaitUntilAsync(() => member.Output.Flushes == 1);

        await sender.WriteAsync(Frames.Concat(
            Frames.Masked(WebSocketOpcode.Text, true, "x"u8),
            Frames.Masked(WebSocketOpcode.Text, true, "y"u8)));

        Assert.Equal(["x1", "x2", "x3", "y1", "y2", "y3"], (await member.ReadFramesAsync(6)).Select(Text));
        Assert.Equal(2, member.Output.Flushes);
        Assert.Equal(0, sender.Output.Flushes); // the relay never wrote to its own connection
        Assert.False(relay.IsCompleted);

        static async Task RelayAsync(WebSocketConnection from, WebSocketConnection to)
        {
            await foreach (WebSocketMessage message in from.ReadAllAsync(Ct))
            {
                for (int i = 1; i <= 3; i++)
                {
                    await to.SendTextAsync(message.GetText() + i, Ct);
                }
            }
        }
    }

    [Fact]
    public async Task A_send_after_the_handler_awaited_something_else_is_flushed_without_more_input()
    {
        await using var peer = new InMemoryPeer(autoCork: true);
        Task handler = Task.Run(async () =>
        {
            using WebSocketMessage? message = await peer.Connection.ReceiveAsync(Ct);
            await Task.Yield(); // the read's callback ends here; what follows runs elsewhere, uncorked
            await peer.Connection.SendTextAsync("later", Ct);
        }, Ct);

        await peer.WriteAsync(Frames.Masked(WebSocketOpcode.Text, true, "go"u8));

        // No more input arrives, so only an immediate flush can deliver it.
        Assert.Equal("later", Text(Assert.Single(await peer.ReadFramesAsync(1))));
        await handler.WaitAsync(Timeout, Ct);
    }

    [Fact]
    public async Task An_explicit_cork_sends_a_burst_in_one_flush_and_without_it_each_send_flushes()
    {
        await using var peer = new InMemoryPeer();
        int before = peer.Output.Flushes;
        using (peer.Connection.Cork())
        {
            for (int i = 0; i < 100; i++)
            {
                await peer.Connection.SendTextAsync("c" + i, Ct);
            }

            Assert.Equal(before, peer.Output.Flushes);
            Assert.False(peer.HasUnreadOutput());
        }

        Assert.Equal(before + 1, peer.Output.Flushes);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => "c" + i), (await peer.ReadFramesAsync(100)).Select(Text));

        for (int i = 0; i < 10; i++)
        {
            await peer.Connection.SendTextAsync("u" + i, Ct);
        }

        Assert.Equal(before + 11, peer.Output.Flushes);
    }

    [Fact]
    public async Task Corks_nest_and_only_the_outermost_flushes()
    {
        await using var peer = new InMemoryPeer();
        int before = peer.Output.Flushes;
        using (peer.Connection.Cork())
        {
            using (peer.Connection.Cork())
            {
                await peer.Connection.SendTextAsync("inner", Ct);
            }

            Assert.Equal(before, peer.Output.Flushes);
            await peer.Connection.SendTextAsync("outer", Ct);
        }

        Assert.Equal(before + 1, peer.Output.Flushes);
        Assert.Equal(["inner", "outer"], (await peer.ReadFramesAsync(2)).Select(Text));
    }

    [Fact]
    public async Task A_send_from_another_thread_is_not_held_by_a_cork_and_takes_the_corked_bytes_along()
    {
        await using var peer = new InMemoryPeer();
        using (peer.Connection.Cork())
        {
            await peer.Connection.SendTextAsync("corked", Ct);
            Assert.False(peer.HasUnreadOutput());

            // A thread of its own: a pool work item could run on this very thread while the test awaits.
            var elsewhere = new Thread(() => peer.Connection.SendTextAsync("elsewhere", Ct).AsTask().GetAwaiter().GetResult());
            elsewhere.Start();
            Assert.True(elsewhere.Join(Timeout));

            Assert.True(peer.HasUnreadOutput());
            Assert.Equal(["corked", "elsewhere"], (await peer.ReadFramesAsync(2)).Select(Text));
        }
    }

    [Fact]
    public async Task A_corked_burst_past_16_KiB_flushes_on_the_way()
    {
        await using var peer = new InMemoryPeer();
        byte[] kib = new byte[1024];
        int before = peer.Output.Flushes;
        Task<List<(WebSocketOpcode Opcode, byte[] Payload)>> reading = peer.ReadFramesAsync(40);
        using (peer.Connection.Cork())
        {
            for (int i = 0; i < 40; i++)
            {
                await peer.Connection.SendBinaryAsync(kib, Ct);
            }

            Assert.InRange(peer.Output.Flushes - before, 2, 3); // about every 16 KiB of the 40 KiB
        }

        Assert.Equal(40, (await reading.WaitAsync(Timeout, Ct)).Count);
    }

    [Fact]
    public async Task The_flush_at_a_corks_end_keeps_back_pressure_for_the_next_sender()
    {
        // The output pauses above 1 KiB unread: the cork's flush of 4 KiB cannot complete until the client reads.
        await using var peer = new InMemoryPeer(pauseWriterThreshold: 1024);
        using (peer.Connection.Cork())
        {
            for (int i = 0; i < 8; i++)
            {
                await peer.Connection.SendBinaryAsync(new byte[512], Ct);
            }
        }

        ValueTask next = peer.Connection.SendTextAsync("next", Ct);
        await Task.Delay(50, Ct);
        Assert.False(next.IsCompleted, "a send went ahead of a flush still waiting for the transport");

        Assert.Equal(9, (await peer.ReadFramesAsync(9)).Count);
        await next.AsTask().WaitAsync(Timeout, Ct);
    }

    [Fact]
    public async Task Pongs_answered_while_handling_a_read_leave_with_the_replies()
    {
        await using var peer = new InMemoryPeer(autoCork: true);
        Task echo = EchoAsync(peer.Connection);
        await peer.WriteAsync(Frames.Masked(WebSocketOpcode.Text, true, "warm-up"u8));
        Assert.Single(await peer.ReadFramesAsync(1));
        await WaitUntilAsync(() => peer.Output.Flushes == 1);
        int before = peer.Output.Flushes;

        await peer.WriteAsync(Frames.Concat(
            Frames.Masked(WebSocketOpcode.Text, true, "a"u8),
            Frames.Masked(WebSocketOpcode.Ping, true, [7]),
            Frames.Masked(WebSocketOpcode.Text, true, "b"u8)));

        List<(WebSocketOpcode Opcode, byte[] Payload)> frames = await peer.ReadFramesAsync(3);
        Assert.Equal([WebSocketOpcode.Text, WebSocketOpcode.Pong, WebSocketOpcode.Text], frames.Select(f => f.Opcode));
        Assert.Equal(1, peer.Output.Flushes - before);
        Assert.False(echo.IsCompleted);
    }

    private static async Task EchoAsync(WebSocketConnection connection)
    {
        await foreach (WebSocketMessage message in connection.ReadAllAsync(Ct))
        {
            await connection.SendAsync(message.Data, message.Type, Ct);
        }
    }

    private static string Text((WebSocketOpcode Opcode, byte[] Payload) frame) => Encoding.UTF8.GetString(frame.Payload);

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (int i = 0; i < 300 && !condition(); i++)
        {
            await Task.Delay(10, Ct);
        }

        Assert.True(condition());
    }
}
