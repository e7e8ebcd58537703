using System.IO.Pipelines;

namespace AspNetWebSockets.Transport.Linux;

/// <summary>
/// A <see cref="PipeReader"/> view of an <see cref="EpollSocket"/>'s input for Kestrel while the connection speaks HTTP:
/// once cut off (<see cref="CutOff"/>, at the hand-over) it reads an empty, completed input and its
/// <see cref="Complete"/> no longer reaches Kestrel's connection (<see cref="EpollSocketView"/>). The WebSocket that owns
/// the socket after the hand-over reads the socket itself.
/// </summary>
internal sealed class EpollSocketReader : PipeReader
{
    private static readonly ReadResult Ended = new(default, isCanceled: false, isCompleted: true);

    private readonly EpollSocket _socket;
    private readonly EpollSocketView _view;

    /// <param name="socket">The socket read.</param>
    /// <param name="view">The owner's hold on this view (cut-off, completion).</param>
    public EpollSocketReader(EpollSocket socket, EpollSocketView view)
    {
        _socket = socket;
        _view = view;
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
