using System.Threading.Tasks.Sources;

namespace AspNetWebSockets.Transport.Linux;

/// <summary>
/// An <see cref="EpollSocket"/> operation that waits (a read for input, a flush for the kernel to take more): the
/// value-task source, reused for each wait, and the registration of the wait's cancellation. Made by a socket only when
/// one of its operations first has to wait, so the many sockets that never wait carry none.
/// </summary>
/// <typeparam name="TResult">What the operation returns.</typeparam>
internal abstract class EpollWaiter<TResult> : IValueTaskSource<TResult>
{
    private ManualResetValueTaskSourceCore<TResult> _core;
    private CancellationTokenRegistration _cancellation;

    /// <param name="inline">Whether the continuation runs where the operation completes (the event-loop mode).</param>
    protected EpollWaiter(bool inline) => _core.RunContinuationsAsynchronously = !inline;

    /// <summary>A pending operation; <paramref name="onCancel"/> runs if <paramref name="cancellationToken"/> fires first.</summary>
    public ValueTask<TResult> Start(CancellationToken cancellationToken, Action<object?, CancellationToken> onCancel, object state)
    {
        _core.Reset();
        if (cancellationToken.CanBeCanceled)
        {
            _cancellation = cancellationToken.UnsafeRegister(onCancel, state);
        }

        return new ValueTask<TResult>(this, _core.Version);
    }

    public void Complete(TResult result) => _core.SetResult(result);

    public void Cancel(CancellationToken token) => _core.SetException(new OperationCanceledException(token));

    TResult IValueTaskSource<TResult>.GetResult(short token)
    {
        _cancellation.Dispose();
        TResult result = _core.GetResult(token);
        _core.Reset(); // drops the result: a read's references the input buffer, which may have gone back to the pool
        return result;
    }

    ValueTaskSourceStatus IValueTaskSource<TResult>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<TResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);
}
