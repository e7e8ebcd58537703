using System.IO.Pipelines;
using AspNetWebSockets.Transport.Linux;

namespace AspNetWebSockets.Transport;

/// <summary>
/// A transport over a socket handed over by the lean transport after the upgrade (<see cref="IEpollHandOverFeature"/>):
/// the WebSocket reads and writes the socket's own buffers, which are rented only while they hold bytes, so an idle
/// connection holds no buffer, no pipe and no Kestrel object. It owns the socket and closes it.
/// </summary>
internal sealed class LeanTransport : WebSocketTransport
{
    // The socket is reached through the reader (one reference less per idle connection).
    private readonly EpollSocketReader _input;
    private readonly EpollSocketWriter _output;

    public LeanTransport(EpollSocket socket)
    {
        _input = new EpollSocketReader(socket);
        _output = new EpollSocketWriter(socket);
    }

    /// <summary>The socket (for tests and diagnostics).</summary>
    public EpollSocket Socket => _input.Socket;

    public override PipeReader Input => _input;

    public override PipeWriter Output => _output;

    public override bool CanWaitForInput => true;

    public override bool WaitForInput(IThreadPoolWorkItem waiter) => Socket.WaitForInput(waiter);

    public override bool CancelInputWait(IThreadPoolWorkItem waiter) => Socket.CancelInputWait(waiter);

    public override void Abort() => Socket.Abort();

    public override async ValueTask CompleteAsync()
    {
        try
        {
            // Our close frame is on its way: send what is queued, FIN, then release the descriptor.
            await Socket.ShutdownOutputAsync().ConfigureAwait(false);
        }
        finally
        {
            Socket.Close(abortive: false);
        }
    }
}
