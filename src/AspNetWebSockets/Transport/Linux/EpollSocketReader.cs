using System.IO.Pipelines;

namespace AspNetWebSockets.Transport.Linux;

/// <summary>
/// A <see cref="PipeReader"/> view of an <see cref="EpollSocket"/>'s input. One view per owner (Kestrel while the
/// connection speaks HTTP, the WebSocket after the hand-over): an owned view that was cut off (<see cref="CutOff"/>)
/// reads an empty, completed input and its <see cref="Complete"/> no longer reaches the owner. The lean transport's view
/// has no owner (<see cref="EpollSocketView"/>): it only forwards.
/// </summary>
internal sealed class EpollSocketReader : PipeReader
{
    private static readonly ReadResult Ended = new(default, isCanceled: false, isCompleted: true);

    private readonly EpollSocket _socket;
    private readonly EpollSocketView? _view;

    /// <param name="socket">The socket read.</param>
    /// <param name="view">The owner's hold on this view (cut-off, completion), or null for a view that only forwards.</param>
    public EpollSocketReader(EpollSocket socket, EpollSocketView? view = null)
    {
        _socket = socket;
        _view = view;
    }

    /// <summary>The socket this view reads.</summary>
    public EpollSocket Socket => _socket;

    /// <summary>Whether the owner completed this reader (a view without an owner does not track it: always false).</summary>
    public bool IsCompleted => _view is { IsCompleted: true };

    /// <summary>Detaches the view from the socket: from now on it behaves as an ended input.</summary>
    /// <exception cref="InvalidOperationException">The view has no owner, so nothing may cut it off.</exception>
    public void CutOff() => (_view ?? throw new InvalidOperationException("A view without an owner is never cut off.")).CutOff();

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        => _view is { IsCutOff: true } ? new ValueTask<ReadResult>(Ended) : _socket.ReadAsync(cancellationToken);

    public override bool TryRead(out ReadResult result)
    {
        if (_view is { IsCutOff: true })
        {
            result = Ended;
            return true;
        }

        return _socket.TryRead(out result);
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (_view is not { IsCutOff: true })
        {
            _socket.AdvanceTo(consumed, examined);
        }
    }

    public override void CancelPendingRead()
    {
        if (_view is not { IsCutOff: true })
        {
            _socket.CancelPendingRead();
        }
    }

    public override void Complete(Exception? exception = null) => _view?.Complete();
}
