using System.IO.Pipelines;

namespace AspNetWebSockets.Transport.Linux;

/// <summary>
/// A <see cref="PipeWriter"/> view of an <see cref="EpollSocket"/>'s output; like <see cref="EpollSocketReader"/>, one
/// per owner, and an owned view that was cut off writes nowhere and flushes as completed.
/// </summary>
internal sealed class EpollSocketWriter : PipeWriter
{
    private readonly EpollSocket _socket;
    private readonly EpollSocketView? _view;

    /// <param name="socket">The socket written.</param>
    /// <param name="view">The owner's hold on this view (cut-off, completion), or null for a view that only forwards.</param>
    public EpollSocketWriter(EpollSocket socket, EpollSocketView? view = null)
    {
        _socket = socket;
        _view = view;
    }

    /// <summary>Whether the owner completed this writer (a view without an owner does not track it: always false).</summary>
    public bool IsCompleted => _view is { IsCompleted: true };

    /// <summary>Detaches the view from the socket.</summary>
    /// <exception cref="InvalidOperationException">The view has no owner, so nothing may cut it off.</exception>
    public void CutOff() => (_view ?? throw new InvalidOperationException("A view without an owner is never cut off.")).CutOff();

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _view is { IsCutOff: true } ? 0 : _socket.UnflushedBytes;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        if (_view is { IsCutOff: true })
        {
            return _view.Sink(sizeHint);
        }

        return _socket.GetMemory(sizeHint);
    }

    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override void Advance(int bytes)
    {
        if (_view is not { IsCutOff: true })
        {
            _socket.Advance(bytes);
        }
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        => _view is { IsCutOff: true } ? new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: true)) : _socket.FlushAsync(cancellationToken);

    public override void CancelPendingFlush()
    {
        if (_view is not { IsCutOff: true })
        {
            _socket.CancelPendingFlush();
        }
    }

    public override void Complete(Exception? exception = null) => _view?.Complete();
}
