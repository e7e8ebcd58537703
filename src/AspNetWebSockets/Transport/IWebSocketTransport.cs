using System.IO.Pipelines;

namespace AspNetWebSockets.Transport;

/// <summary>
/// The bytes under a WebSocket: a duplex pipe plus the two ways to end it. Implementations differ in where
/// the bytes come from (Kestrel's connection pipes, any <see cref="Stream"/>, or a lean socket); the connection reads
/// eagerly from <see cref="IDuplexPipe.Input"/> only when asked, but the transport keeps receiving, so the
/// keep-alive can see a live peer even when the application is not reading.
/// </summary>
/// <remarks>
/// An interface rather than a base class, so that an implementation may be its own input or output (the lean transport
/// is the <see cref="PipeWriter"/> of its socket, and the socket its own <see cref="PipeReader"/>): one object per idle
/// connection where a base class needed three.
/// </remarks>
internal interface IWebSocketTransport : IDuplexPipe
{
    /// <summary>Whether <see cref="WaitForInput"/> is supported (lean sockets); otherwise a reader waits with a pipe read.</summary>
    bool CanWaitForInput => false;

    /// <summary>
    /// Waits for input without a pending read: false when there is input (or its end) now, to be read with
    /// <see cref="PipeReader.TryRead"/>; true when <paramref name="waiter"/> will run once there is. An idle connection's
    /// reader then costs the transport one reference.
    /// </summary>
    /// <exception cref="NotSupportedException">The transport cannot (<see cref="CanWaitForInput"/> is false).</exception>
    bool WaitForInput(IThreadPoolWorkItem waiter) => throw new NotSupportedException();

    /// <summary>Withdraws a wait of <see cref="WaitForInput"/>; false when the waiter already ran or is about to.</summary>
    bool CancelInputWait(IThreadPoolWorkItem waiter) => false;

    /// <summary>Ends the connection abruptly (no more bytes either way).</summary>
    void Abort();

    /// <summary>Ends the connection gracefully after the close handshake: flushes and signals end-of-stream to the peer.</summary>
    ValueTask CompleteAsync();
}
