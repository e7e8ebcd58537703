using Microsoft.Extensions.Logging;

namespace AspNetWebSockets;

/// <summary>
/// How a connection ended, told to the application once: <see cref="Token"/> is cancelled first, so its callbacks (group
/// memberships, the request's <c>RequestAborted</c>) have all run by the time <see cref="Task"/> completes with the code,
/// reason and whether the close was clean — code that awaits it sees the connection gone everywhere. A readonly struct of
/// two references, held inline by the connection; copies share the same task and token.
/// </summary>
internal readonly struct ClosedSignal()
{
    private readonly TaskCompletionSource<WebSocketCloseInfo> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _token = new();

    /// <summary>Completes with how the connection ended.</summary>
    public Task<WebSocketCloseInfo> Task => _closed.Task;

    /// <summary>Cancelled when the connection ends, just before <see cref="Task"/> completes.</summary>
    public CancellationToken Token => _token.Token;

    /// <summary>Cancels <see cref="Token"/>, then completes <see cref="Task"/> with <paramref name="info"/>.</summary>
    public void Raise(WebSocketCloseInfo info, ILogger logger, string connectionId)
    {
        try
        {
            _token.Cancel();
        }
        catch (AggregateException e)
        {
            // A callback registered by the application threw; the connection is closed regardless.
            Log.TransportFailed(logger, connectionId, e);
        }

        _closed.TrySetResult(info);
    }
}
