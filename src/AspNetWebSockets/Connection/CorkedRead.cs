using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace AspNetWebSockets;

/// <summary>
/// An awaitable over a pipe read whose continuation, in the event-loop mode, runs as a receive callback of
/// <paramref name="owner"/> (see <see cref="ReceiveCallbackRunner"/>); otherwise (no owner) a plain await. Allocates
/// nothing per read.
/// </summary>
internal readonly struct CorkedRead(WebSocketConnection? owner, ValueTask<ReadResult> read) : ICriticalNotifyCompletion
{
    private readonly ConfiguredValueTaskAwaitable<ReadResult>.ConfiguredValueTaskAwaiter _read = read.ConfigureAwait(false).GetAwaiter();

    public bool IsCompleted => _read.IsCompleted;

    public CorkedRead GetAwaiter() => this;

    public ReadResult GetResult() => _read.GetResult();

    public void OnCompleted(Action continuation) => UnsafeOnCompleted(continuation);

    // The default mode (no owner): a reply leaves at once.
    public void UnsafeOnCompleted(Action continuation) => _read.UnsafeOnCompleted(owner is null ? continuation : owner.ResumeAsReceiveCallback(continuation));
}
