using Microsoft.AspNetCore.Http;

namespace AspNetWebSockets;

/// <summary>
/// Base class for a class-based WebSocket handler, mapped with
/// <c>app.MapWebSocket&lt;THandler&gt;("/pattern")</c>. One instance serves one connection: it is created from
/// dependency injection after the upgrade (constructor parameters come from the connection's request scope, so
/// scoped services live as long as the connection), receives <see cref="OnOpenAsync"/>, then one
/// <see cref="OnMessageAsync"/> per message in order, then exactly one <see cref="OnCloseAsync"/>, and is disposed
/// if it implements <see cref="IDisposable"/> or <see cref="IAsyncDisposable"/>.
/// </summary>
/// <remarks>
/// Messages are delivered one at a time: the next one is read only after <see cref="OnMessageAsync"/> completes, so
/// a slow handler applies backpressure to its peer. Keep-alive pings are answered while the handler waits for
/// messages. An exception thrown by <see cref="OnOpenAsync"/> or <see cref="OnMessageAsync"/> is logged, the
/// connection is closed with 1011 (no exception details on the wire), and <see cref="OnCloseAsync"/> receives it.
/// </remarks>
public abstract class WebSocketHandler
{
    private WebSocketConnection? _connection;
    private HttpContext? _context;

    /// <summary>The connection this instance serves.</summary>
    /// <exception cref="InvalidOperationException">Read from the constructor, before the connection is attached.</exception>
    public WebSocketConnection Connection => _connection ?? throw NotAttached();

    /// <summary>The upgraded request: route values (<c>Context.GetRouteValue("room")</c>), user, query, services.</summary>
    /// <exception cref="InvalidOperationException">Read from the constructor, before the connection is attached.</exception>
    public HttpContext Context => _context ?? throw NotAttached();

    /// <summary>Called once the connection is open, before the first message is read.</summary>
    /// <param name="cancellationToken">Fires when the connection closes for any reason.</param>
    /// <returns>A task that completes when the handler is ready for messages.</returns>
    public virtual ValueTask OnOpenAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>
    /// Called for each complete text or binary message, in order. <paramref name="message"/> and its
    /// <see cref="WebSocketMessage.Data"/> are valid only until the returned task completes (the pooled buffer is
    /// reused for the next message): copy what must outlive the call.
    /// </summary>
    /// <param name="message">The message.</param>
    /// <param name="cancellationToken">Fires when the connection closes for any reason.</param>
    /// <returns>A task that completes when the message has been handled.</returns>
    public abstract ValueTask OnMessageAsync(WebSocketMessage message, CancellationToken cancellationToken);

    /// <summary>
    /// Called exactly once after the connection has closed — by the peer, by this handler, by a protocol error, a
    /// keep-alive timeout or server shutdown — with the close as the browser's <c>CloseEvent</c> would report it.
    /// </summary>
    /// <param name="close">The close code, reason and whether the close handshake completed.</param>
    /// <param name="exception">What <see cref="OnOpenAsync"/> or <see cref="OnMessageAsync"/> threw, if anything.</param>
    /// <returns>A task that completes when cleanup is done.</returns>
    public virtual ValueTask OnCloseAsync(WebSocketCloseInfo close, Exception? exception) => ValueTask.CompletedTask;

    internal void Attach(WebSocketConnection connection, HttpContext context)
    {
        _connection = connection;
        _context = context;
    }

    private static InvalidOperationException NotAttached() =>
        new("The connection is attached after construction; use it from OnOpenAsync onwards.");
}
