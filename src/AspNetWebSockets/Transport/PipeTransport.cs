using System.IO.Pipelines;

namespace AspNetWebSockets.Transport;

/// <summary>
/// A transport over a connection's own pipes (Kestrel's <c>IConnectionTransportFeature.Transport</c> after an
/// HTTP/1.1 upgrade, or an in-memory pipe pair): zero-copy reads and corked writes, no pump. Kestrel keeps
/// receiving into the input pipe up to its own buffer limit whether or not we read.
/// </summary>
internal sealed class PipeTransport : IWebSocketTransport
{
    private readonly IDuplexPipe _pipe;
    private readonly Action _abort;
    private readonly bool _completeOnClose;
    private int _completed;

    /// <param name="pipe">The connection's pipes.</param>
    /// <param name="abort">Aborts the underlying connection.</param>
    /// <param name="completeOnClose">
    /// Whether we own the pipes and should complete them after the close handshake. Kestrel's pipes belong to
    /// Kestrel, which closes the socket when the upgraded request ends; completing them ourselves would race it.
    /// </param>
    public PipeTransport(IDuplexPipe pipe, Action abort, bool completeOnClose)
    {
        _pipe = pipe;
        _abort = abort;
        _completeOnClose = completeOnClose;
    }

    public PipeReader Input => _pipe.Input;

    public PipeWriter Output => _pipe.Output;

    public void Abort()
    {
        if (Interlocked.Exchange(ref _completed, 1) == 0)
        {
            _abort();
        }
    }

    public async ValueTask CompleteAsync()
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0 || !_completeOnClose)
        {
            return;
        }

        await _pipe.Output.CompleteAsync().ConfigureAwait(false);
        await _pipe.Input.CompleteAsync().ConfigureAwait(false);
    }
}
