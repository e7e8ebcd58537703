using System.IO.Pipelines;

namespace AspNetWebSockets.Transport;

/// <summary>
/// The bytes under a WebSocket: a duplex pipe plus the two ways to end it. Implementations differ in where
/// the bytes come from (Kestrel's connection pipes, or any <see cref="Stream"/>); the connection reads
/// eagerly from <see cref="IDuplexPipe.Input"/> only when asked, but the transport keeps receiving, so the
/// keep-alive can see a live peer even when the application is not reading.
/// </summary>
internal abstract class WebSocketTransport : IDuplexPipe
{
    public abstract PipeReader Input { get; }

    public abstract PipeWriter Output { get; }

    /// <summary>Ends the connection abruptly (no more bytes either way).</summary>
    public abstract void Abort();

    /// <summary>Ends the connection gracefully after the close handshake: flushes and signals end-of-stream to the peer.</summary>
    public abstract ValueTask CompleteAsync();
}
