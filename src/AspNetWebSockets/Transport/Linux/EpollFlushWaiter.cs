using System.IO.Pipelines;

namespace AspNetWebSockets.Transport.Linux;

/// <summary>
/// A flush that waits for the kernel to take more of an <see cref="EpollSocket"/>'s queue. Made the first time a
/// connection's flush has to wait (a peer that reads slower than it is sent to), so the many connections whose sends
/// the kernel always takes at once never carry one.
/// </summary>
/// <param name="inline">Whether the continuation runs where the flush completes (the event-loop mode).</param>
internal sealed class EpollFlushWaiter(bool inline) : EpollWaiter<FlushResult>(inline);
