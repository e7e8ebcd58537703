namespace AspNetWebSockets;

/// <summary>
/// An open cork on a connection (see <see cref="WebSocketConnection.Cork"/>): dispose it to end the cork and flush what
/// the sends inside it wrote, in one system call.
/// </summary>
public readonly struct WebSocketCork : IDisposable
{
    private readonly WebSocketConnection? _connection;
    private readonly bool _owner;

    internal WebSocketCork(WebSocketConnection connection, bool owner)
    {
        _connection = connection;
        _owner = owner;
    }

    /// <summary>Ends the cork; the outermost cork flushes. Dispose once.</summary>
    public void Dispose() => _connection?.EndCork(_owner);
}
