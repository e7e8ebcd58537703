using System.IO.Pipelines;

namespace AspNetWebSockets.Transport;

/// <summary>
/// A transport over any duplex <see cref="Stream"/> (Kestrel's upgrade stream, HTTP/2, TestServer, a client's
/// NetworkStream). A pump copies the stream into a pipe so inbound bytes keep arriving while the application
/// is not reading (the keep-alive relies on it); the pipe's pause threshold bounds what it buffers.
/// </summary>
internal sealed class StreamTransport : IWebSocketTransport
{
    private const int PauseThreshold = 64 * 1024;
    private const int MinimumReadSize = 4096;

    private readonly Stream _stream;
    private readonly Pipe _inbound;
    private readonly PipeWriter _output;
    private readonly CancellationTokenSource _aborted = new();
    private readonly Action? _abortConnection;
    private int _completed;

    /// <param name="stream">The duplex stream.</param>
    /// <param name="abortConnection">Also aborts the connection under the stream (disposing an upgrade stream alone may not).</param>
    /// <param name="inline">
    /// The event-loop mode: what arrives is handed to the receive on the pump's own thread (the stream's completion),
    /// instead of being queued to the thread pool.
    /// </param>
    public StreamTransport(Stream stream, Action? abortConnection = null, bool inline = false)
    {
        _stream = stream;
        _abortConnection = abortConnection;
        PipeScheduler scheduler = inline ? PipeScheduler.Inline : PipeScheduler.ThreadPool;
        _inbound = new Pipe(new PipeOptions(
            readerScheduler: scheduler,
            writerScheduler: scheduler,
            pauseWriterThreshold: PauseThreshold,
            resumeWriterThreshold: PauseThreshold / 2,
            useSynchronizationContext: false));
        _output = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));
        _ = PumpAsync();
    }

    public PipeReader Input => _inbound.Reader;

    public PipeWriter Output => _output;

    public void Abort()
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return;
        }

        _aborted.Cancel();
        _stream.Dispose();
        _abortConnection?.Invoke();
    }

    public async ValueTask CompleteAsync()
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return;
        }

        try
        {
            await _output.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The peer may already be gone; nothing is left to deliver.
        }

        _aborted.Cancel();
        await _stream.DisposeAsync().ConfigureAwait(false);
    }

    private async Task PumpAsync()
    {
        PipeWriter writer = _inbound.Writer;
        Exception? error = null;
        try
        {
            while (true)
            {
                Memory<byte> memory = writer.GetMemory(MinimumReadSize);
                int read = await _stream.ReadAsync(memory, _aborted.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                writer.Advance(read);
                FlushResult flush = await writer.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception) when (_aborted.IsCancellationRequested)
        {
            // Aborted or completed locally: report a plain end of stream, not the cancellation.
        }
        catch (Exception e)
        {
            error = e;
        }

        await writer.CompleteAsync(error).ConfigureAwait(false);
    }
}
