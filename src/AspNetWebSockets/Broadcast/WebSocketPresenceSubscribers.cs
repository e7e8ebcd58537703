using Microsoft.Extensions.Logging;

namespace AspNetWebSockets.Broadcast;

/// <summary>The handlers of <see cref="IWebSocketPresence.Subscribe"/>, notified one change at a time in order.</summary>
internal sealed partial class WebSocketPresenceSubscribers(ILogger logger)
{
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private volatile Func<WebSocketPresenceChange, ValueTask>[] _handlers = [];

    public IDisposable Add(Func<WebSocketPresenceChange, ValueTask> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (_oneAtATime)
        {
            _handlers = [.. _handlers, handler];
        }

        return new Subscription(this, handler);
    }

    /// <summary>Runs every handler for the change; waits for the previous change's handlers first, so order is kept.</summary>
    public async ValueTask NotifyAsync(WebSocketPresenceChange change)
    {
        Func<WebSocketPresenceChange, ValueTask>[] handlers = _handlers;
        if (handlers.Length == 0)
        {
            return;
        }

        await _oneAtATime.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (Func<WebSocketPresenceChange, ValueTask> handler in handlers)
            {
                try
                {
                    await handler(change).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    LogHandlerFailed(logger, change.Kind, e);
                }
            }
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    private void Remove(Func<WebSocketPresenceChange, ValueTask> handler)
    {
        lock (_oneAtATime)
        {
            _handlers = Array.FindAll(_handlers, h => h != handler);
        }
    }

    [LoggerMessage(110, LogLevel.Warning, "A presence handler failed on a {Kind} notification.", EventName = "PresenceHandlerFailed")]
    private static partial void LogHandlerFailed(ILogger logger, WebSocketPresenceChangeKind kind, Exception exception);

    private sealed class Subscription(WebSocketPresenceSubscribers owner, Func<WebSocketPresenceChange, ValueTask> handler) : IDisposable
    {
        public void Dispose() => owner.Remove(handler);
    }
}
