using System.Text;
using AspNetWebSockets.Protocol;
using AspNetWebSockets.Tests.Protocol;

namespace AspNetWebSockets.Tests.Connection;

/// <summary>
/// ReadAllAsync's hand-written enumerator keeps an async iterator's contract: messages whole or split across reads, both
/// cancellation tokens, one pending MoveNextAsync, the application's execution context after a wait, and the end.
/// </summary>
public sealed class MessageReaderTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Messages_already_in_the_input_waited_for_and_split_across_reads_all_arrive_in_order()
    {
        await using var peer = new InMemoryPeer();
        await peer.WriteAsync([.. Text("one"), .. Text("two")]);
        await using IAsyncEnumerator<WebSocketMessage> messages = peer.Connection.ReadAllAsync().GetAsyncEnumerator();

        Assert.True(await messages.MoveNextAsync());
        Assert.Equal("one", messages.Current.GetText());
        Assert.True(await messages.MoveNextAsync());
        Assert.Equal("two", messages.Current.GetText());

        ValueTask<bool> waiting = messages.MoveNextAsync();
        Assert.False(waiting.IsCompleted); // idle: nothing in the input
        byte[] three = Text("three");
        await peer.WriteAsync(three[..3]);
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.False(waiting.IsCompleted); // half a frame is not a message
        await peer.WriteAsync(three[3..]);
        Assert.True(await waiting.AsTask().WaitAsync(Timeout, TestContext.Current.CancellationToken));
        Assert.Equal("three", messages.Current.GetText());

        // A fragmented message whose parts arrive apart goes through the receive loop.
        waiting = messages.MoveNextAsync();
        await peer.WriteAsync(Frames.Masked(WebSocketOpcode.Text, false, "fo"u8));
        await peer.WriteAsync(Frames.Masked(WebSocketOpcode.Continuation, true, "ur"u8));
        Assert.True(await waiting.AsTask().WaitAsync(Timeout, TestContext.Current.CancellationToken));
        Assert.Equal("four", messages.Current.GetText());
    }

    [Fact]
    public async Task The_enumeration_ends_with_the_close_handshake_and_stays_ended()
    {
        await using var peer = new InMemoryPeer();
        await using IAsyncEnumerator<WebSocketMessage> messages = peer.Connection.ReadAllAsync().GetAsyncEnumerator();
        ValueTask<bool> waiting = messages.MoveNextAsync();
        await peer.WriteAsync(Frames.Masked(WebSocketOpcode.Close, true, [0x03, 0xE8]));

        Assert.False(await waiting.AsTask().WaitAsync(Timeout, TestContext.Current.CancellationToken));
        Assert.False(await messages.MoveNextAsync());
        Assert.Equal(WebSocketCloseCode.NormalClosure, (await peer.Connection.Closed.WaitAsync(Timeout, TestContext.Current.CancellationToken)).Code);
    }

    [Fact]
    public async Task Either_token_cancels_a_waiting_MoveNextAsync_and_the_connection_stays_usable()
    {
        await using var peer = new InMemoryPeer();
        using var readAll = new CancellationTokenSource();
        using var withCancellation = new CancellationTokenSource();

        IAsyncEnumerator<WebSocketMessage> first = peer.Connection.ReadAllAsync(readAll.Token).GetAsyncEnumerator(withCancellation.Token);
        ValueTask<bool> waiting = first.MoveNextAsync();
        await readAll.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await waiting.AsTask().WaitAsync(Timeout, TestContext.Current.CancellationToken));
        Assert.False(await first.MoveNextAsync()); // an enumerator that threw is done
        await first.DisposeAsync();

        IAsyncEnumerator<WebSocketMessage> second = peer.Connection.ReadAllAsync(CancellationToken.None).GetAsyncEnumerator(withCancellation.Token);
        waiting = second.MoveNextAsync();
        await withCancellation.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await waiting.AsTask().WaitAsync(Timeout, TestContext.Current.CancellationToken));
        await second.DisposeAsync();

        await using IAsyncEnumerator<WebSocketMessage> third = peer.Connection.ReadAllAsync().GetAsyncEnumerator();
        await peer.WriteAsync(Text("still here"));
        Assert.True(await third.MoveNextAsync());
        Assert.Equal("still here", third.Current.GetText());
    }

    [Fact]
    public async Task A_second_MoveNextAsync_or_a_second_reader_while_one_waits_is_refused()
    {
        await using var peer = new InMemoryPeer();
        IAsyncEnumerable<WebSocketMessage> all = peer.Connection.ReadAllAsync();
        await using IAsyncEnumerator<WebSocketMessage> messages = all.GetAsyncEnumerator();
        ValueTask<bool> waiting = messages.MoveNextAsync();

        Assert.Throws<InvalidOperationException>(() => messages.MoveNextAsync());
        await using IAsyncEnumerator<WebSocketMessage> other = all.GetAsyncEnumerator(); // a fresh enumerator, as an iterator gives
        Assert.NotSame(messages, other);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await other.MoveNextAsync());

        await peer.WriteAsync(Text("x"));
        Assert.True(await waiting.AsTask().WaitAsync(Timeout, TestContext.Current.CancellationToken));
        Assert.Equal("x", messages.Current.GetText());
    }

    [Fact]
    public async Task After_a_wait_the_receive_runs_in_the_applications_execution_context()
    {
        var scope = new AsyncLocal<string>();
        var logger = new ContextRecordingLogger(() => scope.Value);
        await using var peer = new InMemoryPeer(logger: logger);
        scope.Value = "handler";
        await using IAsyncEnumerator<WebSocketMessage> messages = peer.Connection.ReadAllAsync().GetAsyncEnumerator();
        ValueTask<bool> waiting = messages.MoveNextAsync();
        Assert.False(waiting.IsCompleted);

        // The bytes arrive from a thread in another context; the violation is logged by the receive the wait resumes.
        await Task.Run(async () =>
        {
            scope.Value = "io";
            await peer.WriteAsync([0x83, 0x80, 1, 2, 3, 4]); // reserved opcode 3, masked, empty
        }, TestContext.Current.CancellationToken);

        Assert.False(await waiting.AsTask().WaitAsync(Timeout, TestContext.Current.CancellationToken));
        Assert.NotEmpty(logger.Contexts);
        Assert.All(logger.Contexts, context => Assert.Equal("handler", context));
    }

    private sealed class ContextRecordingLogger(Func<string?> context) : Microsoft.Extensions.Logging.ILogger
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string?> _contexts = new();

        public IReadOnlyCollection<string?> Contexts => _contexts;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _contexts.Enqueue(context());
    }

    private static byte[] Text(string text) => Frames.Masked(WebSocketOpcode.Text, true, Encoding.UTF8.GetBytes(text));
}
