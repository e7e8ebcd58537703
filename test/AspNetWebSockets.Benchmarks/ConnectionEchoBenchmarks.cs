using System.Buffers;
using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Text;
using AspNetWebSockets.Compression;
using AspNetWebSockets.Protocol;
using AspNetWebSockets.Transport;
using BenchmarkDotNet.Attributes;

namespace AspNetWebSockets.Benchmarks;

/// <summary>
/// The connection's whole receive and send paths in steady state, over an in-memory duplex pipe: one operation writes a
/// masked client frame into the input pipe, receives it as a whole message through <see cref="WebSocketConnection.ReadAllAsync"/>
/// (one enumerator kept across operations, as an echo handler keeps its loop), sends it back with
/// <see cref="WebSocketConnection.SendAsync(ReadOnlyMemory{byte}, WebSocketMessageType, CancellationToken)"/>, and drains
/// the output pipe as the socket would. Issue #5 requires Allocated = 0 B for every case.
/// </summary>
/// <remarks>
/// Pipes use inline schedulers and no pause threshold, so every await completes synchronously: the measurement is the
/// library's own per-message cost (decode, unmask, UTF-8 validation, framing, locks, pipe bookkeeping), not thread hops.
/// The compressed case uses a client without context takeover, so one pre-compressed frame stays valid for every
/// iteration; the server compresses its echo with context takeover (the default).
/// </remarks>
[MemoryDiagnoser]
public class ConnectionEchoBenchmarks
{
    private Pipe _input = null!;
    private Pipe _output = null!;
    private WebSocketConnection _connection = null!;
    private IAsyncEnumerator<WebSocketMessage> _messages = null!;
    private byte[] _frame = null!;

    /// <summary>The message shape: binary 64 B and 16 KiB, text 64 B (mixed 1- and 2-byte UTF-8, validated), and text 1 KiB compressed.</summary>
    [Params("Binary64B", "Binary16KiB", "Text64B", "Deflate1KiB")]
    public string Message { get; set; } = "Binary64B";

    /// <summary>
    /// Whether the connection is already waiting when the message arrives (a request/response peer: the receive parks,
    /// holding no buffer, and the message completes it) or the message is buffered before the receive (a busy stream).
    /// </summary>
    [Params(false, true)]
    public bool Waiting { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        (_input, _output, _connection, _frame) = CreateRig(Message);
        _messages = _connection.ReadAllAsync().GetAsyncEnumerator();

        // Warm the pools (pipe segments, the message buffer, zlib state) so the measured operations are steady state.
        for (int i = 0; i < 16; i++)
        {
            Echo();
        }
    }

    /// <summary>
    /// A server connection over two in-memory pipes with inline schedulers and no pause threshold (every await completes
    /// synchronously), and the masked client frame of the message shape. <paramref name="autoCork"/> is the event-loop
    /// mode's setting: a receive callback's sends are corked until it ends.
    /// </summary>
    internal static (Pipe Input, Pipe Output, WebSocketConnection Connection, byte[] Frame) CreateRig(string message, bool autoCork = false)
    {
        bool compressed = message == "Deflate1KiB";
        (WebSocketOpcode opcode, byte[] payload) = message switch
        {
            "Binary64B" => (WebSocketOpcode.Binary, Filled(64)),
            "Binary16KiB" => (WebSocketOpcode.Binary, Filled(16 * 1024)),
            "Text64B" => (WebSocketOpcode.Text, MixedText(64)),
            "Deflate1KiB" => (WebSocketOpcode.Text, JsonText(1024)),
            _ => throw new ArgumentException(message),
        };

        var clientFrame = new ArrayBufferWriter<byte>();
        if (compressed)
        {
            using var deflater = new MessageDeflater(level: 6, windowBits: 15, memoryLevel: 8, contextTakeover: false);
            var deflated = new PooledBufferWriter();
            deflater.Compress(payload, deflated);
            FrameWriter.WriteFrame(clientFrame, WebSocketRole.Client, opcode, fin: true, ReservedBit.Rsv1, deflated.WrittenMemory.Span);
            deflated.Dispose();
        }
        else
        {
            FrameWriter.WriteFrame(clientFrame, WebSocketRole.Client, opcode, fin: true, 0, payload);
        }

        var options = new PipeOptions(
            readerScheduler: PipeScheduler.Inline,
            writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: 0,
            useSynchronizationContext: false);
        var input = new Pipe(options);
        var output = new Pipe(options);
        var connection = new WebSocketConnection(
            new PipeTransport(new DuplexPipe(input.Reader, output.Writer), static () => { }, completeOnClose: false),
            new WebSocketConnectionSettings { Role = WebSocketRole.Server, AutoCork = autoCork },
            new PerConnectionSettings
            {
                Extension = compressed
                    ? new PerMessageDeflateSession(new PerMessageDeflateParameters(15, ServerNoContextTakeover: false, 15, ClientNoContextTakeover: true), new WebSocketCompressionOptions(), WebSocketRole.Server)
                    : null,
                ExtensionBits = ReservedBit.Rsv1,
            });
        return (input, output, connection, clientFrame.WrittenSpan.ToArray());
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _connection.Abort();
        _messages.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Receive one message and echo it.</summary>
    /// <returns>The echoed payload length, so nothing is optimized away.</returns>
    [Benchmark]
    public int Echo()
    {
        ValueTask<bool> next = Waiting ? _messages.MoveNextAsync() : default;
        PipeWriter client = _input.Writer;
        client.Write(_frame);
        Complete(client.FlushAsync()); // with inline schedulers, a waiting receive completes inside this flush
        if (!Waiting)
        {
            next = _messages.MoveNextAsync();
        }

        if (!Complete(next))
        {
            throw new InvalidOperationException("The connection closed.");
        }

        WebSocketMessage message = _messages.Current;
        Complete(_connection.SendAsync(message.Data, message.Type));

        PipeReader echoed = _output.Reader;
        if (!echoed.TryRead(out ReadResult read))
        {
            throw new InvalidOperationException("Nothing was echoed.");
        }

        echoed.AdvanceTo(read.Buffer.End);
        return message.Length;
    }

    // Everything completes synchronously over inline pipes; GetResult on a completed ValueTask allocates nothing.
    internal static T Complete<T>(ValueTask<T> task) => task.IsCompleted ? task.Result : task.AsTask().GetAwaiter().GetResult();

    internal static void Complete(ValueTask task)
    {
        if (task.IsCompleted)
        {
            task.GetAwaiter().GetResult();
        }
        else
        {
            task.AsTask().GetAwaiter().GetResult();
        }
    }

    internal static void Complete(ValueTask<FlushResult> task) => Complete<FlushResult>(task);

    private static byte[] Filled(int size)
    {
        var data = new byte[size];
        new Random(42).NextBytes(data);
        return data;
    }

    private static byte[] MixedText(int size)
    {
        // "é" is 2 bytes, ASCII 1: alternate runs so the validator sees both.
        var text = new StringBuilder();
        while (Encoding.UTF8.GetByteCount(text.ToString()) < size - 1)
        {
            text.Append(text.Length % 8 < 6 ? 'a' : 'é');
        }

        byte[] bytes = Encoding.UTF8.GetBytes(text.ToString());
        return bytes.AsSpan(0, Math.Min(bytes.Length, size)).ToArray() is { } cut && System.Text.Unicode.Utf8.IsValid(cut) ? cut : bytes;
    }

    private static byte[] JsonText(int size)
    {
        var json = new StringBuilder();
        for (int i = 0; json.Length < size; i++)
        {
            json.Append("{\"id\":").Append(i).Append(",\"user\":\"websocket\",\"text\":\"hello there\",\"ok\":true},");
        }

        return Encoding.UTF8.GetBytes(json.ToString(0, size));
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
