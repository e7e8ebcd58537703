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
    private readonly EpollSocket _socket;
    private readonly EpollSocketReader _input;
    private readonly EpollSocketWriter _output;

    public LeanTransport(EpollSocket socket)
    {
        _socket = socket;
        _input = new EpollSocketReader(socket);
        _output = new EpollSocketWriter(socket);
    }

    /// <summary>The socket (for tests and diagnostics).</summary>
    public EpollSocket Socket => _socket;

    public override PipeReader Input => _input;

    public override PipeWriter Output => _output;

    public override void Abort() => _socket.Abort();

    public override async ValueTask CompleteAsync()
    {
        try
        {
            // Our close frame is on its way: send what is queued, FIN, then release the descriptor.
            await _socket.ShutdownOutputAsync().ConfigureAwait(false);
        }
        finally
        {
            _socket.Close(abortive: false);
        }
    }
}
