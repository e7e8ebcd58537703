using System.IO.Pipelines;

namespace AspNetWebSockets.Transport.Linux;

/// <summary>
/// A <see cref="PipeReader"/> view of an <see cref="EpollSocket"/>'s input. One view per owner (Kestrel while the
/// connection speaks HTTP, the WebSocket after the hand-over): a view that was cut off (<see cref="CutOff"/>) reads an
/// empty, completed input and its <see cref="Complete"/> no longer reaches the owner.
/// </summary>
internal sealed class EpollSocketReader : PipeReader
{
    private static readonly ReadResult Ended = new(default, isCanceled: false, isCompleted: true);

    private readonly EpollSocket _socket;
    private EpollSocketView _view;

    /// <param name="socket">The socket read.</param>
    /// <param name="onComplete">Called once, with <paramref name="state"/>, when the owner completes this reader (not after a cut-off).</param>
    /// <param name="state">The state for <paramref name="onComplete"/>.</param>
    public EpollSocketReader(EpollSocket socket, Action<object?>? onComplete = null, object? state = null)
    {
        _socket = socket;
        _view = new EpollSocketView(onComplete, state);
    }

    /// <summary>Whether the owner completed this reader.</summary>
    public bool IsCompleted => _view.IsCompleted;

    /// <summary>Detaches the view from the socket: from now on it behaves as an ended input.</summary>
    public void CutOff() => _view.CutOff();

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        => _view.IsCutOff ? new ValueTask<ReadResult>(Ended) : _socket.ReadAsync(cancellationToken);

    public override bool TryRead(out ReadResult result)
    {
        if (_view.IsCutOff)
        {
            result = Ended;
            return true;
        }

        return _socket.TryRead(out result);
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (!_view.IsCutOff)
        {
            _socket.AdvanceTo(consumed, examined);
        }
    }

    public override void CancelPendingRead()
    {
        if (!_view.IsCutOff)
        {
            _socket.CancelPendingRead();
        }
    }

    public override void Complete(Exception? exception = null) => _view.Complete();
}
