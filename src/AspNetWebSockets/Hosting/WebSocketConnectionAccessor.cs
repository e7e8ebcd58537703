namespace AspNetWebSockets.Hosting;

/// <summary>
/// A request-scoped holder that makes the accepted <see cref="WebSocketConnection"/> injectable: handler parameters
/// and scoped services ask DI for it, and the endpoint sets it right after the upgrade.
/// </summary>
internal sealed class WebSocketConnectionAccessor
{
    public WebSocketConnection? Connection { get; set; }
}
