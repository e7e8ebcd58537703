using System.IO.Pipelines;
using System.Net.WebSockets;
using System.Text;
using AspNetWebSockets.Compression;
using AspNetWebSockets.Protocol;
using AspNetWebSockets.Transport;
using BenchmarkDotNet.Attributes;

namespace AspNetWebSockets.Benchmarks;

/// <summary>
/// Sending one text message, compressed (permessage-deflate, context takeover, 15-bit window) or not, through our
/// connection and through the built-in ManagedWebSocket (<c>WebSocket.CreateFromStream</c> with DangerousDeflateOptions)
/// in the same run: time and allocated bytes per message for a 100 B JSON-like message and a 64 KiB text.
/// </summary>
[MemoryDiagnoser]
public class CompressionBenchmarks
{
    private byte[] _message = null!;
    private WebSocketConnection _ours = null!;
    private Pipe _oursOutput = null!;
    private WebSocket _builtIn = null!;

    [Params(100, 64 * 1024)]
    public int Size { get; set; }

    [Params(false, true)]
    public bool Compress { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var json = new StringBuilder();
        for (int i = 0; json.Length < Size; i++)
        {
            json.Append("{\"id\":").Append(i).Append(",\"user\":\"websocket\",\"text\":\"hello there\",\"ok\":true},");
        }

        _message = Encoding.UTF8.GetBytes(json.ToString(0, Size));

        _oursOutput = new Pipe(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
        var input = new Pipe();
        _ours = new WebSocketConnection(
            new PipeTransport(new DuplexPipe(input.Reader, _oursOutput.Writer), static () => { }, completeOnClose: false),
            new WebSocketConnectionSettings { Role = WebSocketRole.Server },
            new PerConnectionSettings
            {
                Extension = Compress
                    ? new PerMessageDeflateSession(new PerMessageDeflateParameters(15, false, 15, false), new WebSocketCompressionOptions { MinMessageSize = 0 }, WebSocketRole.Server)
                    : null,
                ExtensionBits = ReservedBit.Rsv1,
            });

        _builtIn = WebSocket.CreateFromStream(Stream.Null, new WebSocketCreationOptions
        {
            IsServer = true,
            KeepAliveInterval = Timeout.InfiniteTimeSpan,
            DangerousDeflateOptions = Compress ? new WebSocketDeflateOptions() : null,
        });
    }

    [Benchmark(Baseline = true)]
    public ValueTask BuiltIn() => _builtIn.SendAsync(_message.AsMemory(), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    [Benchmark]
    public async ValueTask Ours()
    {
        await _ours.SendAsync(_message, WebSocketMessageType.Text, CancellationToken.None);

        // Drain what was written, as the socket would.
        if (_oursOutput.Reader.TryRead(out ReadResult written))
        {
            _oursOutput.Reader.AdvanceTo(written.Buffer.End);
        }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
