using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AspNetWebSockets.Hosting;

/// <summary>Runs the registered <see cref="IWebSocketConnectionListener"/>s for a connection that has just opened.</summary>
internal static partial class WebSocketConnectionListeners
{
    public static void NotifyConnected(HttpContext context, WebSocketConnection connection, ILogger logger)
    {
        foreach (IWebSocketConnectionListener listener in context.RequestServices.GetServices<IWebSocketConnectionListener>())
        {
            try
            {
                listener.OnConnected(connection, context);
            }
            catch (Exception e)
            {
                // A listener that threw may have registered the connection half-way (e.g. addressable but without its user):
                // dropping it is safer than serving it.
                LogListenerFailed(logger, connection.ConnectionId, listener.GetType().Name, e);
                connection.Abort();
                return;
            }
        }
    }

    [LoggerMessage(300, LogLevel.Error, "WebSocket connection listener {Listener} failed for connection {ConnectionId}; the connection is aborted.", EventName = "ConnectionListenerFailed")]
    private static partial void LogListenerFailed(ILogger logger, string connectionId, string listener, Exception exception);
}
