using System.IO.Pipelines;

namespace AspNetWebSockets.Transport.Linux;

/// <summary>
/// A <see cref="PipeWriter"/> view of an <see cref="EpollSocket"/>'s output for Kestrel while the connection speaks
/// HTTP; like <see cref="EpollSocketReader"/>, once cut off it writes nowhere and flushes as completed. The WebSocket
/// that owns the socket after the hand-over writes through <see cref="LeanTransport"/>.
/// </summary>
internal sealed class EpollSocketWriter : PipeWriter
{
    private readonly EpollSocket _socket;
    private readonly EpollSocketView _view;

    /// <param name="socket">The socket written.</param>
    /// <param name="view">The owner's hold on this view (cut-off, completion).</param>
    public EpollSocketWriter(EpollSocket socket, EpollSocketView view)
    {
        _socket = socket;
        _view = view;
    }

    /// <summary>Whether the owner completed this writer.</summary>
    public bool IsCompleted => _view.IsCompleted;

    /// <summary>Detaches the view from the socket.</summary>
    public void CutOff() => _view.CutOff();

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _view.IsCutOff ? 0 : _socket.UnflushedBytes;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        if (_view.IsCutOff)
        {
            return _view.Sink(sizeHint);
        }

        return _socket.GetMemory(sizeHint);
    }

    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override void Advance(int bytes)
    {
        if (!_view.IsCutOff)
        {
            _socket.Advance(bytes);
        }
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        => _view.IsCutOff ? new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: true)) : _socket.FlushAsync(cancellationToken);

    public override void CancelPendingFlush()
    {
        if (!_view.IsCutOff)
        {
            _socket.CancelPendingFlush();
        }
    }

    public override void Complete(Exception? exception = null) => _view.Complete();
}
