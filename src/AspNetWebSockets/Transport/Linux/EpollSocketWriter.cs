using System.IO.Pipelines;

namespace AspNetWebSockets.Transport.Linux;

/// <summary>
/// A <see cref="PipeWriter"/> view of an <see cref="EpollSocket"/>'s output; like <see cref="EpollSocketReader"/>, one
/// per owner, and a view that was cut off writes nowhere and flushes as completed.
/// </summary>
internal sealed class EpollSocketWriter : PipeWriter
{
    private readonly EpollSocket _socket;
    private EpollSocketView _view;
    private byte[]? _sink; // where a cut-off view's writes go

    /// <param name="socket">The socket written.</param>
    /// <param name="onComplete">Called once, with <paramref name="state"/>, when the owner completes this writer (not after a cut-off).</param>
    /// <param name="state">The state for <paramref name="onComplete"/>.</param>
    public EpollSocketWriter(EpollSocket socket, Action<object?>? onComplete = null, object? state = null)
    {
        _socket = socket;
        _view = new EpollSocketView(onComplete, state);
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
            return _sink = _sink is null || _sink.Length < sizeHint ? new byte[Math.Max(sizeHint, 256)] : _sink;
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
