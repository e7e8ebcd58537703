namespace AspNetWebSockets;

/// <summary>
/// An open cork on a connection (see <see cref="WebSocketConnection.Cork"/>): dispose it to end the cork and flush what
/// the sends inside it wrote, in one system call.
/// </summary>
public readonly struct WebSocketCork : IDisposable
{
    // The cork's owner (the outermost Cork call) holds the connection's sender; a nested one holds null.
    private readonly FrameSender? _sender;

    internal WebSocketCork(FrameSender? sender) => _sender = sender;

    /// <summary>Ends the cork; the outermost cork flushes. Dispose once.</summary>
    public void Dispose() => _sender?.EndCork();
}
