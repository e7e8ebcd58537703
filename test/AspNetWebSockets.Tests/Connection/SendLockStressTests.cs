using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net.WebSockets;
using AspNetWebSockets.Protocol;
using AspNetWebSockets.Tests.Protocol;
using AspNetWebSockets.Transport;

namespace AspNetWebSockets.Tests.Connection;

/// <summary>
/// The connection's send locks under contention (issue #5): many senders with random cancellation, a streamed message
/// among whole-message sends and control frames, cancelled and aborted waiters. Every frame on the wire is decoded as the
/// client would (so an interleaved frame fails as a protocol violation), each sender's messages must arrive in its own
/// order, and <see cref="WebSocketConnection.BufferedAmount"/> must return to 0. Loops are bounded in count; waits are
/// bounded by a generous timeout, never asserted on.
/// </summary>
public sealed class SendLockStressTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static CancellationToken TestToken => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Eight_senders_with_random_cancellation_keep_messages_whole_and_in_order()
    {
        // A small pause threshold makes flushes wait for the reader, so senders queue behind each other and get cancelled while queued.
        await using var peer = new InMemoryPeer(abortEndsClientReader: true, pauseWriterThreshold: 512);
        const int Senders = 8;
        const int PerSender = 2_000;
        var collector = new MessageCollector();
        Task reading = ReadUntilAsync(peer, collector, stopMarker: 0xFF);

        var outcomes = new bool?[Senders, PerSender]; // true: completed; false: cancelled
        Task[] sending = Enumerable.Range(0, Senders).Select(s => Task.Run(async () =>
        {
            var random = new Random(1000 + s);
            for (int i = 0; i < PerSender; i++)
            {
                byte[] payload = SenderPayload(s, i, random.Next(0, 40));
                int mode = random.Next(8);
                using var cts = new CancellationTokenSource();
                if (mode == 0)
                {
                    cts.Cancel(); // cancelled before the call: taken anyway if the locks are free, otherwise refused
                }

                ValueTask send = (mode & 1) == 0
                    ? peer.Connection.SendBinaryAsync(payload, cts.Token)
                    : peer.Connection.SendBinaryAsync(Sequences.FromSegments(payload[..1], payload[1..]), cts.Token);
                if (mode == 1)
                {
                    cts.Cancel(); // cancelled while (possibly) queued behind another sender
                }

                try
                {
                    await send;
                    outcomes[s, i] = true;
                }
                catch (OperationCanceledException)
                {
                    outcomes[s, i] = false;
                }
            }
        }, TestToken)).ToArray();

        await Task.WhenAll(sending).WaitAsync(Timeout, TestToken);
        await peer.Connection.SendBinaryAsync(new byte[] { 0xFF }, TestToken).AsTask().WaitAsync(Timeout, TestToken);
        await reading.WaitAsync(Timeout, TestToken);

        int cancelled = 0;
        for (int s = 0; s < Senders; s++)
        {
            int[] sequence = collector.SequenceOf(s);
            Assert.True(sequence.Zip(sequence.Skip(1)).All(pair => pair.First < pair.Second), $"Sender {s}'s messages arrived out of order.");
            var arrived = sequence.ToHashSet();
            for (int i = 0; i < PerSender; i++)
            {
                Assert.NotNull(outcomes[s, i]);
                if (outcomes[s, i] == true)
                {
                    Assert.Contains(i, arrived); // a send that completed was written
                }
                else
                {
                    cancelled++; // a cancelled send may still have been written if its flush, not its wait, was cancelled
                }
            }
        }

        Assert.True(cancelled > 0, "The run should have cancelled some sends.");
        Assert.Equal(0, peer.Connection.BufferedAmount);
        Assert.Equal(WebSocketReadyState.Open, peer.Connection.ReadyState);

        // No ownership leaked: a send after the storm takes the free locks at once.
        ValueTask after = peer.Connection.SendBinaryAsync(new byte[] { 1 }, TestToken);
        Assert.True(after.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Streamed_messages_interleaved_with_whole_sends_and_pongs_stay_well_formed()
    {
        await using var peer = new InMemoryPeer(abortEndsClientReader: true, pauseWriterThreshold: 256);
        const int WholeSenders = 3;
        const int PerSender = 300;
        const int Streamed = 100;
        const int Pings = 200;
        var collector = new MessageCollector();
        Task reading = ReadUntilAsync(peer, collector, stopMarker: 0xFF);

        // The receive loop answers pings with pongs while the senders run; a final binary message ends it.
        Task receiving = Task.Run(async () =>
        {
            await using IAsyncEnumerator<WebSocketMessage> messages = peer.Connection.ReadAllAsync(TestToken).GetAsyncEnumerator(TestToken);
            Assert.True(await messages.MoveNextAsync());
            Assert.Equal(new byte[] { 7 }, messages.Current.ToArray());
        }, TestToken);
        Task pinging = Task.Run(async () =>
        {
            for (int p = 0; p < Pings; p++)
            {
                byte[] payload = new byte[4];
                BinaryPrimitives.WriteInt32BigEndian(payload, p);
                await peer.WriteAsync(Frames.Masked(WebSocketOpcode.Ping, true, payload));
            }

            await peer.WriteAsync(Frames.Masked(WebSocketOpcode.Binary, true, [7]));
        }, TestToken);

        Task streaming = Task.Run(async () =>
        {
            var random = new Random(42);
            for (int i = 0; i < Streamed; i++)
            {
                byte[] payload = SenderPayload(WholeSenders, i, random.Next(5, 60));
                var cuts = RandomCuts(random, payload.Length);
                await using WebSocketMessageWriter writer = await peer.Connection.BeginMessageAsync(WebSocketMessageType.Binary, TestToken);
                int start = 0;
                foreach (int cut in cuts)
                {
                    await writer.WriteAsync(payload.AsMemory(start, cut - start), TestToken);
                    start = cut;
                }

                await writer.CompleteAsync(payload.AsMemory(start), TestToken);
            }
        }, TestToken);
        Task[] sending = Enumerable.Range(0, WholeSenders).Select(s => Task.Run(async () =>
        {
            for (int i = 0; i < PerSender; i++)
            {
                await peer.Connection.SendBinaryAsync(SenderPayload(s, i, i % 30), TestToken);
            }
        }, TestToken)).ToArray();

        await Task.WhenAll([.. sending, streaming, pinging, receiving]).WaitAsync(Timeout, TestToken);
        await peer.Connection.SendBinaryAsync(new byte[] { 0xFF }, TestToken).AsTask().WaitAsync(Timeout, TestToken);
        await reading.WaitAsync(Timeout, TestToken);

        for (int s = 0; s < WholeSenders; s++)
        {
            Assert.Equal(Enumerable.Range(0, PerSender), collector.SequenceOf(s));
        }

        // The streamed messages arrived whole (the decoder rejects a data frame inside a fragmented message) and in order.
        Assert.Equal(Enumerable.Range(0, Streamed), collector.SequenceOf(WholeSenders));
        Assert.Equal(Enumerable.Range(0, Pings), collector.Pongs);
        Assert.Equal(0, peer.Connection.BufferedAmount);
    }

    [Fact]
    public async Task Cancelled_waiters_leave_and_the_rest_send_in_order()
    {
        await using var peer = new InMemoryPeer(abortEndsClientReader: true, pauseWriterThreshold: 1024);
        const int Waiters = 20;

        // The first send fills the pipe past its pause threshold and holds both locks in its flush.
        Task blocker = peer.Connection.SendBinaryAsync(SenderPayload(99, 0, 4088), TestToken).AsTask();
        Assert.False(blocker.IsCompleted);

        var sources = new CancellationTokenSource[Waiters];
        var sends = new Task[Waiters];
        for (int i = 0; i < Waiters; i++)
        {
            sources[i] = new CancellationTokenSource();
            sends[i] = peer.Connection.SendBinaryAsync(SenderPayload(0, i, 8), sources[i].Token).AsTask();
        }

        for (int i = 0; i < Waiters; i += 2)
        {
            await sources[i].CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sends[i]).WaitAsync(Timeout, TestToken);
        }

        Assert.All(sends.Where((_, i) => i % 2 == 1), send => Assert.False(send.IsCompleted));
        Assert.Equal(4096 + (Waiters / 2 * 16), peer.Connection.BufferedAmount);

        var collector = new MessageCollector();
        Task reading = ReadUntilAsync(peer, collector, stopMarker: 0xFF);
        await Task.WhenAll(sends.Where((_, i) => i % 2 == 1).Append(blocker)).WaitAsync(Timeout, TestToken);
        await peer.Connection.SendBinaryAsync(new byte[] { 0xFF }, TestToken).AsTask().WaitAsync(Timeout, TestToken);
        await reading.WaitAsync(Timeout, TestToken);

        Assert.Equal(Enumerable.Range(0, Waiters).Where(i => i % 2 == 1), collector.SequenceOf(0));
        Assert.Equal(0, peer.Connection.BufferedAmount);
        foreach (CancellationTokenSource source in sources)
        {
            source.Dispose();
        }
    }

    [Fact]
    public async Task Cancelled_BeginMessage_waiter_takes_no_slot()
    {
        await using var peer = new InMemoryPeer(abortEndsClientReader: true);
        WebSocketMessageWriter writer = await peer.Connection.BeginMessageAsync(WebSocketMessageType.Text, TestToken);
        using var cts = new CancellationTokenSource();
        Task<WebSocketMessageWriter> second = peer.Connection.BeginMessageAsync(WebSocketMessageType.Text, cts.Token).AsTask();
        Task whole = peer.Connection.SendAsync("after"u8.ToArray(), WebSocketMessageType.Text, TestToken).AsTask();
        Assert.False(second.IsCompleted);
        Assert.False(whole.IsCompleted);

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second).WaitAsync(Timeout, TestToken);

        await writer.WriteAsync("hel"u8.ToArray(), TestToken);
        await writer.CompleteAsync("lo"u8.ToArray(), TestToken);
        await whole.WaitAsync(Timeout, TestToken);

        List<(WebSocketOpcode Opcode, byte[] Payload)> frames = await peer.ReadFramesAsync(2);
        Assert.Equal("hello", Encoding.UTF8.GetString(frames[0].Payload));
        Assert.Equal("after", Encoding.UTF8.GetString(frames[1].Payload));
        Assert.Equal(0, peer.Connection.BufferedAmount);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Abort_wakes_fifty_waiting_senders_with_WebSocketException(bool holderIsStreamedMessage)
    {
        await using var peer = new InMemoryPeer(abortEndsClientReader: true, pauseWriterThreshold: 1024);
        const int Waiters = 50;
        Task holder;
        if (holderIsStreamedMessage)
        {
            // A streamed message holds the message lock between its fragments; its next fragment fails after the abort.
            WebSocketMessageWriter writer = await peer.Connection.BeginMessageAsync(WebSocketMessageType.Binary, TestToken);
            await writer.WriteAsync(new byte[16], TestToken);
            holder = Task.Run(async () =>
            {
                await using (writer)
                {
                    await Assert.ThrowsAsync<WebSocketException>(async () =>
                    {
                        for (int i = 0; i < 1_000; i++)
                        {
                            await writer.WriteAsync(new byte[4096], TestToken); // the first blocks in its flush until the abort
                        }
                    });
                }
            }, TestToken);
        }
        else
        {
            holder = FailsWithWebSocketExceptionAsync(() => peer.Connection.SendBinaryAsync(new byte[4096], TestToken).AsTask());
        }

        Task[] waiting = Enumerable.Range(0, Waiters)
            .Select(i => FailsWithWebSocketExceptionAsync(() => peer.Connection.SendBinaryAsync(SenderPayload(0, i, 8), TestToken).AsTask()))
            .ToArray();

        // Every waiter has counted its bytes before waiting; wait (bounded) until the holder is stuck too.
        for (int spin = 0; spin < 6_000 && peer.Connection.BufferedAmount < (Waiters * 16) + 4096; spin++)
        {
            await Task.Delay(10, TestToken);
        }

        Assert.All(waiting, task => Assert.False(task.IsCompleted));
        peer.Connection.Abort();

        await Task.WhenAll(waiting.Append(holder)).WaitAsync(Timeout, TestToken);
        Assert.Equal(WebSocketReadyState.Closed, peer.Connection.ReadyState);
        Assert.Equal(0, peer.Connection.BufferedAmount);
        await Assert.ThrowsAsync<WebSocketException>(() => peer.Connection.SendBinaryAsync(new byte[1], TestToken).AsTask());
    }

    private static async Task FailsWithWebSocketExceptionAsync(Func<Task> send) => await Assert.ThrowsAsync<WebSocketException>(send);

    /// <summary>Sender id and sequence number, then <paramref name="padding"/> bytes that depend on both.</summary>
    private static byte[] SenderPayload(int sender, int sequence, int padding)
    {
        byte[] payload = new byte[8 + padding];
        BinaryPrimitives.WriteInt32BigEndian(payload, sender);
        BinaryPrimitives.WriteInt32BigEndian(payload.AsSpan(4), sequence);
        for (int i = 0; i < padding; i++)
        {
            payload[8 + i] = (byte)(sender * 31 + sequence + i);
        }

        return payload;
    }

    /// <summary>One to three ascending cut points inside a payload of <paramref name="length"/> bytes.</summary>
    private static int[] RandomCuts(Random random, int length) =>
        Enumerable.Range(0, random.Next(1, 4)).Select(_ => random.Next(1, length)).Distinct().Order().ToArray();

    /// <summary>The messages and pongs the client side decoded, checked against <see cref="SenderPayload"/> as they arrive.</summary>
    private sealed class MessageCollector
    {
        private readonly Dictionary<int, List<int>> _bySender = [];

        public List<int> Pongs { get; } = [];

        public int[] SequenceOf(int sender) => _bySender.TryGetValue(sender, out List<int>? list) ? [.. list] : [];

        public void Message(byte[] payload)
        {
            Assert.True(payload.Length >= 8, "A message arrived cut short.");
            int sender = BinaryPrimitives.ReadInt32BigEndian(payload);
            int sequence = BinaryPrimitives.ReadInt32BigEndian(payload.AsSpan(4));
            Assert.Equal(SenderPayload(sender, sequence, payload.Length - 8), payload);
            if (!_bySender.TryGetValue(sender, out List<int>? list))
            {
                _bySender[sender] = list = [];
            }

            list.Add(sequence);
        }
    }

    /// <summary>Decodes the server's output into <paramref name="collector"/> until a one-byte message equal to <paramref name="stopMarker"/>.</summary>
    private static async Task ReadUntilAsync(InMemoryPeer peer, MessageCollector collector, byte stopMarker)
    {
        await Task.Yield();
        await peer.ReadAsync((opcode, payload) =>
        {
            if (opcode is WebSocketOpcode.Text or WebSocketOpcode.Binary)
            {
                if (payload is [byte only] && only == stopMarker)
                {
                    return false;
                }

                collector.Message(payload);
                return true;
            }

            Assert.Equal(WebSocketOpcode.Pong, opcode);
            collector.Pongs.Add(BinaryPrimitives.ReadInt32BigEndian(payload));
            return true;
        });
    }
}
