using Microsoft.AspNetCore.Http.Features;

namespace AspNetWebSockets.Hosting;

/// <summary>
/// Replaces the request's lifetime feature after the upgrade, so a handler's <c>CancellationToken</c> (bound to
/// <c>HttpContext.RequestAborted</c>) fires when the WebSocket closes for any reason — peer close, failure, keep-alive
/// timeout, server shutdown — and <c>HttpContext.Abort()</c> aborts the WebSocket.
/// </summary>
internal sealed class WebSocketRequestLifetimeFeature : IHttpRequestLifetimeFeature
{
    private readonly WebSocketConnection _connection;

    public WebSocketRequestLifetimeFeature(WebSocketConnection connection) => _connection = connection;

    public CancellationToken RequestAborted
    {
        get => _connection.ConnectionClosed;
        set => throw new NotSupportedException("RequestAborted follows the WebSocket connection and cannot be replaced.");
    }

    public void Abort() => _connection.Abort();
}
