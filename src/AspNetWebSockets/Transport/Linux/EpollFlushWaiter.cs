using System.IO.Pipelines;
using System.Threading.Tasks.Sources;

namespace AspNetWebSockets.Transport.Linux;

/// <summary>
/// A flush that waits for the kernel to take more of an <see cref="EpollSocket"/>'s queue. Made the first time a
/// connection's flush has to wait (a peer that reads slower than it is sent to), so the many connections whose sends
/// the kernel always takes at once never carry one.
/// </summary>
internal sealed class EpollFlushWaiter : IValueTaskSource<FlushResult>
{
    private ManualResetValueTaskSourceCore<FlushResult> _core;
    private CancellationTokenRegistration _cancellation;

    /// <param name="inline">Whether the continuation runs where the flush completes (the event-loop mode).</param>
    public EpollFlushWaiter(bool inline) => _core.RunContinuationsAsynchronously = !inline;

    /// <summary>A pending flush; <paramref name="onCancel"/> runs if <paramref name="cancellationToken"/> fires first.</summary>
    public ValueTask<FlushResult> Start(CancellationToken cancellationToken, Action<object?, CancellationToken> onCancel, object state)
    {
        _core.Reset();
        if (cancellationToken.CanBeCanceled)
        {
            _cancellation = cancellationToken.UnsafeRegister(onCancel, state);
        }

        return new ValueTask<FlushResult>(this, _core.Version);
    }

    public void Complete(FlushResult result) => _core.SetResult(result);

    public void Cancel(CancellationToken token) => _core.SetException(new OperationCanceledException(token));

    FlushResult IValueTaskSource<FlushResult>.GetResult(short token)
    {
        _cancellation.Dispose();
        return _core.GetResult(token);
    }

    ValueTaskSourceStatus IValueTaskSource<FlushResult>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<FlushResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);
}
