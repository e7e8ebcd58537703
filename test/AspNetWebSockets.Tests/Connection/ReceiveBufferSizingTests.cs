using System.Buffers;
using System.Net.WebSockets;
using AspNetWebSockets.Protocol;
using AspNetWebSockets.Tests.Protocol;

namespace AspNetWebSockets.Tests.Connection;

/// <summary>
/// A receive buffer sized from the payload that has arrived: a message that is already in the input gets its buffer in
/// one step, and a declared length with no bytes behind it makes nobody reserve memory.
/// </summary>
public sealed class ReceiveBufferSizingTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public void Buffered_payload_of_a_whole_frame_is_its_length()
    {
        var decoder = new MessageDecoder(WebSocketRole.Server, new DecoderLimits(1 << 20, 1 << 20, 16));
        byte[] frame = Frames.Masked(WebSocketOpcode.Binary, true, new byte[20_000]);

        Assert.Equal(20_000, decoder.BufferedPayload(new SequenceReader<byte>(new ReadOnlySequence<byte>(frame))));
    }

    [Fact]
    public void Buffered_payload_counts_only_bytes_that_have_arrived_not_the_declared_length()
    {
        var decoder = new MessageDecoder(WebSocketRole.Server, new DecoderLimits(1 << 20, 1 << 20, 16));
        byte[] frame = Frames.Masked(WebSocketOpcode.Binary, true, new byte[1 << 20]);
        int header = frame.Length - (1 << 20);

        Assert.Equal(10, decoder.BufferedPayload(new SequenceReader<byte>(new ReadOnlySequence<byte>(frame, 0, header + 10))));
        Assert.Equal(0, decoder.BufferedPayload(new SequenceReader<byte>(new ReadOnlySequence<byte>(frame, 0, header))));
        Assert.Equal(0, decoder.BufferedPayload(new SequenceReader<byte>(new ReadOnlySequence<byte>(frame, 0, header - 1))));
    }

    [Fact]
    public void Buffered_payload_mid_frame_is_what_is_left_of_the_frame_and_here()
    {
        var decoder = new MessageDecoder(WebSocketRole.Server, new DecoderLimits(1 << 20, 1 << 20, 16));
        byte[] frame = Frames.Masked(WebSocketOpcode.Binary, true, new byte[10_000]);
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(frame));
        Assert.Equal(DecodeStatus.Data, decoder.Decode(ref reader, new byte[4096], out int written, out bool end, out _));
        Assert.Equal(4096, written);
        Assert.False(end);

        Assert.Equal(10_000 - 4096, decoder.BufferedPayload(reader));
        Assert.Equal(100, decoder.BufferedPayload(new SequenceReader<byte>(reader.UnreadSequence.Slice(0, 100))));
    }

    [Fact]
    public void Buffered_payload_is_zero_for_control_frames_and_refused_headers()
    {
        var decoder = new MessageDecoder(WebSocketRole.Server, new DecoderLimits(1 << 20, 1 << 20, 16));
        byte[] ping = Frames.Masked(WebSocketOpcode.Ping, true, new byte[100]);
        byte[] unmasked = [0x82, 0x05, 1, 2, 3, 4, 5]; // a server must refuse an unmasked client frame

        Assert.Equal(0, decoder.BufferedPayload(new SequenceReader<byte>(new ReadOnlySequence<byte>(ping))));
        Assert.Equal(0, decoder.BufferedPayload(new SequenceReader<byte>(new ReadOnlySequence<byte>(unmasked))));
    }

    [Theory]
    [InlineData(0, 4096)]          // no hint: the smallest useful buffer, as before
    [InlineData(100, 4096)]
    [InlineData(20_000, 20_000)]   // the payload that is here, at once
    [InlineData(5_000_000, 1 << 20)] // never above the message limit
    public void A_new_buffer_holds_the_hint_within_the_limit(long hint, int expectedAtLeast)
    {
        using var message = new WebSocketMessage();
        Memory<byte> free = message.GetFreeMemory(maxSize: 1 << 20, sizeHint: hint);

        Assert.InRange(free.Length, expectedAtLeast, Math.Max(expectedAtLeast, (int)Math.Min(hint, 1 << 20)) * 2);
    }

    [Fact]
    public void A_full_buffer_grows_to_the_hint_and_keeps_its_bytes()
    {
        using var message = new WebSocketMessage();
        Memory<byte> first = message.GetFreeMemory(maxSize: 1 << 20);
        first.Span.Fill(7);
        message.Advance(first.Length);
        Assert.True(message.IsFull);

        Memory<byte> more = message.GetFreeMemory(maxSize: 1 << 20, sizeHint: 50_000);

        Assert.True(more.Length >= 50_000);
        Assert.All(message.Data.ToArray(), b => Assert.Equal(7, b));
    }

    [Theory]
    [InlineData(4095)]
    [InlineData(4096)]
    [InlineData(4097)]
    [InlineData(65_536)]
    [InlineData(300_000)]
    public async Task A_message_that_arrives_while_the_receive_waits_is_delivered_whole(int length)
    {
        await using var peer = new InMemoryPeer();
        byte[] payload = new byte[length];
        new Random(length).NextBytes(payload);
        await using IAsyncEnumerator<WebSocketMessage> messages = peer.Connection.ReadAllAsync(TestContext.Current.CancellationToken).GetAsyncEnumerator(TestContext.Current.CancellationToken);

        for (int round = 0; round < 3; round++)
        {
            // The receive parks first (holding no buffer); the message then arrives in one write.
            Task<bool> next = messages.MoveNextAsync().AsTask();
            Assert.False(next.IsCompleted);
            await peer.WriteAsync(Frames.Masked(WebSocketOpcode.Binary, true, payload));

            Assert.True(await next.WaitAsync(Timeout, TestContext.Current.CancellationToken));
            Assert.Equal(WebSocketMessageType.Binary, messages.Current.Type);
            Assert.True(payload.AsSpan().SequenceEqual(messages.Current.Data.Span));
        }
    }

    [Fact]
    public async Task A_fragmented_message_that_arrives_while_the_receive_waits_is_assembled()
    {
        await using var peer = new InMemoryPeer();
        byte[] payload = new byte[30_000];
        new Random(1).NextBytes(payload);
        await using IAsyncEnumerator<WebSocketMessage> messages = peer.Connection.ReadAllAsync(TestContext.Current.CancellationToken).GetAsyncEnumerator(TestContext.Current.CancellationToken);

        Task<bool> next = messages.MoveNextAsync().AsTask();
        await peer.WriteAsync(Frames.Concat(
            Frames.Masked(WebSocketOpcode.Binary, false, payload.AsSpan(0, 5_000).ToArray()),
            Frames.Masked(WebSocketOpcode.Continuation, false, payload.AsSpan(5_000, 20_000).ToArray()),
            Frames.Masked(WebSocketOpcode.Continuation, true, payload.AsSpan(25_000).ToArray())));

        Assert.True(await next.WaitAsync(Timeout, TestContext.Current.CancellationToken));
        Assert.True(payload.AsSpan().SequenceEqual(messages.Current.Data.Span));
    }
}
