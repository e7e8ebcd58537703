using System.Buffers;
using System.IO.Pipelines;
using System.Net.WebSockets;
using AspNetWebSockets.Protocol;
using AspNetWebSockets.Tests.Protocol;
using AspNetWebSockets.Transport;

namespace AspNetWebSockets.Tests.Connection;

/// <summary>
/// The connection's receive and send paths when many frames arrive in one read (decoded synchronously, one after
/// another, with control frames and violations handed to the receive loop) and when sends find the locks free or
/// taken: over an in-memory duplex pipe, checked frame by frame on the wire.
/// </summary>
public sealed class BatchedConnectionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Many_messages_in_one_write_are_received_in_order()
    {
        await using var peer = new InMemoryPeer();
        var frames = new List<byte[]>();
        for (int i = 0; i < 200; i++)
        {
            byte[] payload = Encoding.UTF8.GetBytes($"message {i} é");
            frames.Add(Frames.Masked(i % 3 == 0 ? WebSocketOpcode.Binary : WebSocketOpcode.Text, true, payload));
        }

        await peer.WriteAsync(Frames.Concat([.. frames]));

        await using IAsyncEnumerator<WebSocketMessage> messages = peer.Connection.ReadAllAsync(TestContext.Current.CancellationToken).GetAsyncEnumerator(TestContext.Current.CancellationToken);
        for (int i = 0; i < 200; i++)
        {
            Assert.True(await messages.MoveNextAsync().AsTask().WaitAsync(Timeout, TestContext.Current.CancellationToken));
            Assert.Equal(i % 3 == 0 ? WebSocketMessageType.Binary : WebSocketMessageType.Text, messages.Current.Type);
            Assert.Equal($"message {i} é", Encoding.UTF8.GetString(messages.Current.Data.Span));
        }
    }

    [Fact]
    public async Task Ping_between_fragments_in_one_write_is_answered_and_the_message_assembled()
    {
        await using var peer = new InMemoryPeer();
        byte[] ping = [1, 2, 3];
        await peer.WriteAsync(Frames.Concat(
            Frames.Masked(WebSocketOpcode.Text, false, "hel"u8),
            Frames.Masked(WebSocketOpcode.Ping, true, ping),
            Frames.Masked(WebSocketOpcode.Continuation, true, "lo"u8),
            Frames.Masked(WebSocketOpcode.Binary, true, [9, 8, 7])));

        await using IAsyncEnumerator<WebSocketMessage> messages = peer.Connection.ReadAllAsync(TestContext.Current.CancellationToken).GetAsyncEnumerator(TestContext.Current.CancellationToken);
        Assert.True(await messages.MoveNextAsync().AsTask().WaitAsync(Timeout, TestContext.Current.CancellationToken));
        Assert.Equal(WebSocketMessageType.Text, messages.Current.Type);
        Assert.Equal("hello", messages.Current.GetText());
        Assert.True(await messages.MoveNextAsync().AsTask().WaitAsync(Timeout, TestContext.Current.CancellationToken));
        Assert.Equal(WebSocketMessageType.Binary, messages.Current.Type);
        Assert.Equal(new byte[] { 9, 8, 7 }, messages.Current.ToArray());

        (WebSocketOpcode opcode, byte[] payload) = Assert.Single(await peer.ReadFramesAsync(1));
        Assert.Equal(WebSocketOpcode.Pong, opcode);
        Assert.Equal(ping, payload);
    }

    [Fact]
    public async Task Violation_after_a_message_in_one_write_delivers_the_message_then_fails_with_1002()
    {
        await using var peer = new InMemoryPeer();
        await peer.WriteAsync(Frames.Concat(
            Frames.Masked(WebSocketOpcode.Binary, true, [1, 2]),
            Frames.Masked(WebSocketOpcode.Continuation, true, [3]))); // a continuation with no message to continue

        await using IAsyncEnumerator<WebSocketMessage> messages = peer.Connection.ReadAllAsync(TestContext.Current.CancellationToken).GetAsyncEnumerator(TestContext.Current.CancellationToken);
        Assert.True(await messages.MoveNextAsync().AsTask().WaitAsync(Timeout, TestContext.Current.CancellationToken));
        Assert.Equal(new byte[] { 1, 2 }, messages.Current.ToArray());
        Task<bool> next = messages.MoveNextAsync().AsTask();

        // The failure path sends its close frame and then lingers for the peer's close; end our side to let it finish.
        (WebSocketOpcode opcode, byte[] payload) = Assert.Single(await peer.ReadFramesAsync(1));
        Assert.Equal(WebSocketOpcode.Close, opcode);
        Assert.Equal(WebSocketCloseCode.ProtocolError, (payload[0] << 8) | payload[1]);
        await peer.EndInputAsync();

        Assert.False(await next.WaitAsync(Timeout, TestContext.Current.CancellationToken));
        WebSocketCloseInfo closed = await peer.Connection.Closed.WaitAsync(Timeout, TestContext.Current.CancellationToken);
        Assert.Equal(WebSocketCloseCode.ProtocolError, closed.Code);
    }

    [Fact]
    public async Task Close_after_messages_in_one_write_ends_the_loop_after_them_and_is_echoed()
    {
        await using var peer = new InMemoryPeer();
        await peer.WriteAsync(Frames.Concat(
            Frames.Masked(WebSocketOpcode.Text, true, "a"u8),
            Frames.Masked(WebSocketOpcode.Text, true, "b"u8),
            Frames.Masked(WebSocketOpcode.Close, true, Frames.ClosePayload(4000, "bye"))));

        var received = new List<string>();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(Timeout);
        await foreach (WebSocketMessage message in peer.Connection.ReadAllAsync(timeout.Token))
        {
            received.Add(message.GetText());
        }

        Assert.Equal(new[] { "a", "b" }, received);
        WebSocketCloseInfo closed = await peer.Connection.Closed.WaitAsync(Timeout, TestContext.Current.CancellationToken);
        Assert.Equal(4000, closed.Code);
        Assert.Equal("bye", closed.Reason);
        Assert.True(closed.WasClean);
        (WebSocketOpcode opcode, byte[] payload) = Assert.Single(await peer.ReadFramesAsync(1));
        Assert.Equal(WebSocketOpcode.Close, opcode);
        Assert.Equal(4000, (payload[0] << 8) | payload[1]);
    }

    [Fact]
    public async Task Multi_segment_sequence_is_sent_as_one_frame()
    {
        await using var peer = new InMemoryPeer();
        ReadOnlySequence<byte> data = Sequences.FromSegments([1, 2], [3], [4, 5, 6]);

        await peer.Connection.SendBinaryAsync(data, TestContext.Current.CancellationToken).AsTask().WaitAsync(Timeout, TestContext.Current.CancellationToken);

        (WebSocketOpcode opcode, byte[] payload) = Assert.Single(await peer.ReadFramesAsync(1));
        Assert.Equal(WebSocketOpcode.Binary, opcode);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6 }, payload);
        Assert.Equal(0, peer.Connection.BufferedAmount);
    }

    [Fact]
    public async Task Concurrent_sends_never_interleave_and_all_arrive()
    {
        // A small pause threshold makes flushes wait for the reader now and then, so sends also take the waiting path.
        await using var peer = new InMemoryPeer(pauseWriterThreshold: 256);
        const int Senders = 4;
        const int PerSender = 200;
        Task<List<(WebSocketOpcode Opcode, byte[] Payload)>> reading = peer.ReadFramesAsync(Senders * PerSender);

        Task[] sending = Enumerable.Range(0, Senders).Select(s => Task.Run(async () =>
        {
            for (int i = 0; i < PerSender; i++)
            {
                byte[] payload = Encoding.UTF8.GetBytes($"{s}:{i}:" + new string('x', i % 50));
                if (i % 2 == 0)
                {
                    await peer.Connection.SendAsync(payload, WebSocketMessageType.Text, TestContext.Current.CancellationToken);
                }
                else
                {
                    await peer.Connection.SendBinaryAsync(Sequences.FromSegments(payload[..1], payload[1..]), TestContext.Current.CancellationToken);
                }
            }
        }, TestContext.Current.CancellationToken)).ToArray();

        await Task.WhenAll(sending).WaitAsync(Timeout, TestContext.Current.CancellationToken);
        List<(WebSocketOpcode Opcode, byte[] Payload)> frames = await reading.WaitAsync(Timeout, TestContext.Current.CancellationToken);

        Assert.Equal(Senders * PerSender, frames.Count);
        for (int s = 0; s < Senders; s++)
        {
            // Each sender's messages arrive whole and in its own order.
            string[] mine = frames.Select(f => Encoding.UTF8.GetString(f.Payload)).Where(t => t.StartsWith($"{s}:", StringComparison.Ordinal)).ToArray();
            Assert.Equal(PerSender, mine.Length);
            for (int i = 0; i < PerSender; i++)
            {
                Assert.Equal($"{s}:{i}:" + new string('x', i % 50), mine[i]);
            }
        }

        Assert.Equal(0, peer.Connection.BufferedAmount);
    }
}
