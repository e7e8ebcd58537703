using System.Buffers;
using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;

namespace AspNetWebSockets.Benchmarks;

/// <summary>
/// An echo handler's own loop (<c>await foreach (var m in socket.ReadAllAsync()) await socket.SendAsync(m.Data, m.Type)</c>)
/// driven the way the event-loop mode drives it (<see cref="WebSocketConnectionSettings.AutoCork"/> on): one operation writes a masked client frame into the input pipe and
/// flushes, and the handler runs inside that flush (as it runs inside the socket's completion on the epoll thread). Its
/// receive completes inside the read's cork, so its reply is written without a flush and leaves in the one flush at the
/// cork's end, when the loop waits for the next message. Issue #14 requires Allocated = 0 B for every case.
/// </summary>
/// <remarks>
/// <see cref="ConnectionEchoBenchmarks"/> sends from outside the read's continuation, so its sends flush at once; this one
/// measures the corked path (deferred flush, the flush at the cork's end) on the same rig.
/// </remarks>
[MemoryDiagnoser]
public class ConnectionEchoHandlerBenchmarks
{
    private PipeWriter _client = null!;
    private PipeReader _echoed = null!;
    private WebSocketConnection _connection = null!;
    private byte[] _frame = null!;
    private Task _handler = null!;

    /// <summary>The message shape, as in <see cref="ConnectionEchoBenchmarks.Message"/>.</summary>
    [Params("Binary64B", "Binary16KiB", "Text64B", "Deflate1KiB")]
    public string Message { get; set; } = "Binary64B";

    [GlobalSetup]
    public void Setup()
    {
        (Pipe input, Pipe output, _connection, _frame) = ConnectionEchoBenchmarks.CreateRig(Message, autoCork: true);
        _client = input.Writer;
        _echoed = output.Reader;
        _handler = EchoHandlerAsync(_connection);

        // Warm the pools (pipe segments, the message buffer, zlib state) so the measured operations are steady state.
        for (int i = 0; i < 16; i++)
        {
            Echo();
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _connection.Abort();
        try
        {
            _handler.GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is OperationCanceledException or System.Net.WebSockets.WebSocketException or InvalidOperationException or IOException)
        {
            // The abort ends the loop either way.
        }
    }

    /// <summary>Deliver one message; the handler echoes it inside the flush.</summary>
    /// <returns>The echoed bytes (frame included), so nothing is optimized away.</returns>
    [Benchmark]
    public long Echo()
    {
        _client.Write(_frame);
        ConnectionEchoBenchmarks.Complete(_client.FlushAsync());
        if (!_echoed.TryRead(out ReadResult read) || read.Buffer.IsEmpty)
        {
            throw new InvalidOperationException("Nothing was echoed inside the flush.");
        }

        long length = read.Buffer.Length;
        _echoed.AdvanceTo(read.Buffer.End);
        return length;
    }

    private static async Task EchoHandlerAsync(WebSocketConnection socket)
    {
        await foreach (WebSocketMessage message in socket.ReadAllAsync())
        {
            await socket.SendAsync(message.Data, message.Type);
        }
    }
}
