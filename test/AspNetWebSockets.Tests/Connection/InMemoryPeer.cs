using System.Buffers;
using System.IO.Pipelines;
using System.Net.WebSockets;
using AspNetWebSockets.Protocol;
using AspNetWebSockets.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AspNetWebSockets.Tests.Connection;

/// <summary>
/// A server-role <see cref="WebSocketConnection"/> over two in-memory pipes, and the client's ends of them: the test
/// writes raw client frames and decodes what the server wrote as the client would, so a malformed or interleaved
/// frame fails as a protocol violation.
/// </summary>
internal sealed class InMemoryPeer : IAsyncDisposable
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(60);

    private readonly Pipe _toServer = new(new PipeOptions(useSynchronizationContext: false));
    private readonly Pipe _toClient;
    private readonly MessageDecoder _decoder = new(WebSocketRole.Client, new DecoderLimits(1 << 20, 1 << 20, 1024));
    private int _readerCompleted;

    /// <param name="pauseWriterThreshold">The server's output pipe pauses above this many unread bytes (0: never), so sends can be made to wait.</param>
    /// <param name="abortEndsClientReader">Whether the transport's abort ends the client's reading side, as a reset socket would (pending server flushes then fail).</param>
    /// <param name="logger">The server connection's logger (none by default).</param>
    /// <param name="heartbeat">A heartbeat to register the connection with (its idle control reader runs on it), or null.</param>
    /// <param name="autoCork">Whether a completed read's callback is corked, as in the event-loop mode.</param>
    public InMemoryPeer(long pauseWriterThreshold = 0, bool abortEndsClientReader = false, ILogger? logger = null, WebSocketHeartbeat? heartbeat = null, bool autoCork = false)
    {
        _toClient = new Pipe(new PipeOptions(
            pauseWriterThreshold: pauseWriterThreshold,
            resumeWriterThreshold: pauseWriterThreshold / 2,
            useSynchronizationContext: false));
        Action abort = abortEndsClientReader ? CompleteClientReader : static () => { };
        Connection = new WebSocketConnection(
            new PipeTransport(new DuplexPipe(_toServer.Reader, Output = new CountingPipeWriter(_toClient.Writer)), abort, completeOnClose: true),
            new WebSocketConnectionSettings { Role = WebSocketRole.Server, CloseTimeout = TimeSpan.FromSeconds(5), Logger = logger ?? NullLogger.Instance, Heartbeat = heartbeat, AutoCork = autoCork });
    }

    public WebSocketConnection Connection { get; }

    /// <summary>The server's output as the transport sees it: counts the flushes that reach it.</summary>
    public CountingPipeWriter Output { get; }

    /// <summary>Whether the server's output holds flushed bytes the client has not read yet (peeked, not consumed).</summary>
    public bool HasUnreadOutput()
    {
        if (!_toClient.Reader.TryRead(out ReadResult read))
        {
            return false;
        }

        _toClient.Reader.AdvanceTo(read.Buffer.Start);
        return !read.Buffer.IsEmpty;
    }

    public async Task WriteAsync(byte[] bytes) => await _toServer.Writer.WriteAsync(bytes);

    public async Task EndInputAsync() => await _toServer.Writer.CompleteAsync();

    /// <summary>Drops the connection as a peer closing its socket does: the server reads end-of-stream and its writes fail.</summary>
    public async Task DropAsync()
    {
        CompleteClientReader();
        await EndInputAsync();
    }

    /// <summary>
    /// Decodes the server's output, calling <paramref name="onFrame"/> with each whole message (Text/Binary opcode) and
    /// each control frame, until it returns false. Fails on a protocol violation or if the output ends first.
    /// </summary>
    public async Task ReadAsync(Func<WebSocketOpcode, byte[], bool> onFrame)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(ReadTimeout);
        var message = new List<byte>();
        var destination = new byte[4096];
        PipeReader reader = _toClient.Reader;
        while (true)
        {
            ReadResult read = await reader.ReadAsync(timeout.Token);
            var sequence = new SequenceReader<byte>(read.Buffer);
            bool more = true;
            while (more)
            {
                DecodeStatus status = _decoder.Decode(ref sequence, destination, out int written, out bool end, out ProtocolViolation violation);
                Assert.True(status != DecodeStatus.Violation, $"Malformed or interleaved output: {violation}");
                if (status == DecodeStatus.NeedMoreData)
                {
                    break;
                }

                if (status == DecodeStatus.Control)
                {
                    more = onFrame(_decoder.ControlOpcode, _decoder.ControlPayload.ToArray());
                    continue;
                }

                message.AddRange(destination.AsSpan(0, written).ToArray());
                if (end)
                {
                    more = onFrame(_decoder.MessageType == WebSocketMessageType.Text ? WebSocketOpcode.Text : WebSocketOpcode.Binary, [.. message]);
                    message.Clear();
                }
            }

            reader.AdvanceTo(sequence.Position, read.Buffer.End);
            if (!more)
            {
                return;
            }

            Assert.False(read.IsCompleted, "The server's output ended early.");
        }
    }

    /// <summary>Reads whole messages and control frames the server wrote until <paramref name="count"/> have arrived.</summary>
    public async Task<List<(WebSocketOpcode Opcode, byte[] Payload)>> ReadFramesAsync(int count)
    {
        var frames = new List<(WebSocketOpcode, byte[])>();
        if (count > 0)
        {
            await ReadAsync((opcode, payload) =>
            {
                frames.Add((opcode, payload));
                return frames.Count < count;
            });
        }

        return frames;
    }

    public async ValueTask DisposeAsync()
    {
        Connection.Abort();
        await _toServer.Writer.CompleteAsync();
        CompleteClientReader();
    }

    /// <summary>Ends the client's reading side once: a pending flush on the server then reports the transport closed.</summary>
    private void CompleteClientReader()
    {
        if (Interlocked.Exchange(ref _readerCompleted, 1) == 0)
        {
            _toClient.Reader.Complete();
        }
    }

    /// <summary>A pipe writer that counts the flushes that reach the pipe, and otherwise passes everything through.</summary>
    internal sealed class CountingPipeWriter(PipeWriter inner) : PipeWriter
    {
        private int _flushes;

        public int Flushes => Volatile.Read(ref _flushes);

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override void Advance(int bytes) => inner.Advance(bytes);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _flushes);
            return inner.FlushAsync(cancellationToken);
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
