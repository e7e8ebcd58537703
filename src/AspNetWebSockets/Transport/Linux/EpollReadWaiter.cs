using System.IO.Pipelines;

namespace AspNetWebSockets.Transport.Linux;

/// <summary>
/// A read that waits for an <see cref="EpollSocket"/>'s input (<see cref="PipeReader.ReadAsync"/> with nothing new to
/// return). Made the first time a read has to wait, and let go of at the hand-over (<see cref="EpollSocket.DropReadWaiter"/>):
/// a lean WebSocket waits for input without a read (<see cref="EpollSocket.WaitForInput"/>), so an idle one carries none
/// (inline in the socket, a read's waiting state cost 88 bytes per connection).
/// </summary>
/// <param name="inline">Whether the continuation runs where the read completes (the event-loop mode).</param>
internal sealed class EpollReadWaiter(bool inline) : EpollWaiter<ReadResult>(inline);
