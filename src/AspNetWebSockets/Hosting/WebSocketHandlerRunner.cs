using System.Net.WebSockets;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace AspNetWebSockets.Hosting;

/// <summary>
/// Drives one <see cref="WebSocketHandler"/> instance through a connection's life: create from DI, open, one call per
/// message, close, dispose. The endpoint around it (upgrade, 1000 after a normal end) is MapWebSocket's.
/// </summary>
internal static class WebSocketHandlerRunner<THandler> where THandler : WebSocketHandler
{
    // Built once per handler type: constructor selection and parameter resolution plans are cached by the factory.
    private static readonly ObjectFactory<THandler> Factory = ActivatorUtilities.CreateFactory<THandler>(Type.EmptyTypes);

    public static async Task RunAsync(WebSocketConnection connection, HttpContext context)
    {
        THandler handler = Factory(context.RequestServices, arguments: null);
        try
        {
            handler.Attach(connection, context);
            Exception? failure = await ReceiveAsync(handler, connection).ConfigureAwait(false);
            if (failure is not null)
            {
                // The same outcome as a throwing delegate handler — logged, 1011 — but done here so that OnCloseAsync
                // sees the completed close.
                WebSocketServer server = context.RequestServices.GetRequiredService<WebSocketServer>();
                Log.HandlerFailed(server.Logger, connection.ConnectionId, failure);
                await WebSocketEndpointHandler.CloseIfOpenAsync(connection, WebSocketCloseCode.InternalServerError).ConfigureAwait(false);
            }

            WebSocketCloseInfo close = await connection.Closed.ConfigureAwait(false);
            await handler.OnCloseAsync(close, failure).ConfigureAwait(false);
        }
        finally
        {
            if (handler is IAsyncDisposable asyncDisposable)
            {
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
            }
            else if (handler is IDisposable disposable)
            {
                disposable.Dispose();
            }
        }
    }

    private static async Task<Exception?> ReceiveAsync(THandler handler, WebSocketConnection connection)
    {
        CancellationToken closed = connection.ConnectionClosed;
        try
        {
            await handler.OnOpenAsync(closed).ConfigureAwait(false);

            // Ends when the close handshake completes or the connection fails; then Closed is complete.
            await foreach (WebSocketMessage message in connection.ReadAllAsync().ConfigureAwait(false))
            {
                await handler.OnMessageAsync(message, closed).ConfigureAwait(false);
            }

            return null;
        }
        catch (OperationCanceledException) when (closed.IsCancellationRequested)
        {
            // The handler observed the connection's own close token: that is the close, not a failure.
            return null;
        }
        catch (Exception e) when (e is WebSocketException or IOException && connection.ReadyState == WebSocketReadyState.Closed)
        {
            // A send raced with the connection failing; the close that caused it is what OnCloseAsync reports.
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }
}
