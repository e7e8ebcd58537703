using System.IO.Pipelines;

namespace AspNetWebSockets;

/// <summary>
/// Whether a connection's flushes may wait for a cork's end — an explicit <see cref="WebSocketConnection.Cork"/> on this
/// thread, or the receive callback batch this thread is running (see <see cref="CallbackBatch"/>) — and whether such a
/// deferred flush is owed. Its own type so the cork's state has one owner; the flush itself is the
/// <see cref="FrameSender"/>'s, because it takes the send locks. A mutable struct held inline by the sender (no object
/// per connection): keep it in a non-readonly field, never copy it.
/// </summary>
internal struct OutputCork
{
    /// <summary>Corked bytes past which a send flushes anyway, so a handler that sends a lot in one run does not buffer it all.</summary>
    private const long Limit = 16 * 1024;

    // The managed thread id inside the open cork (0: none), and 1 while corked sends wait for the cork's flush.
    private int _thread;
    private int _flushPending;

    /// <summary>Whether sends wrote bytes whose flush waits for the cork's end.</summary>
    public readonly bool FlushPending => Volatile.Read(in _flushPending) != 0;

    /// <summary>Starts a cork on this thread; true if this call owns it (no cork was open), false if nested or another thread's cork is open.</summary>
    public bool TryBegin() => Interlocked.CompareExchange(ref _thread, Environment.CurrentManagedThreadId, 0) == 0;

    /// <summary>Ends a cork this thread owns; true when the sender must now flush what the corked sends wrote.</summary>
    public bool End()
    {
        Volatile.Write(ref _thread, 0);
        return FlushPending;
    }

    /// <summary>A flush is starting: whatever corked sends wrote goes out with it.</summary>
    public void Flushing() => Volatile.Write(ref _flushPending, 0);

    /// <summary>
    /// Whether a flush asked for now may wait for the cork's end: corked on this thread, or a receive callback runs on
    /// this thread and <paramref name="sender"/> joins its batch; and the corked bytes in <paramref name="output"/> are under the limit.
    /// </summary>
    public bool TryDefer(PipeWriter output, FrameSender sender)
    {
        int thread = Volatile.Read(ref _thread);
        if (thread != Environment.CurrentManagedThreadId && (thread != 0 || !CallbackBatch.TryJoin(sender)))
        {
            return false;
        }

        if (!output.CanGetUnflushedBytes || output.UnflushedBytes >= Limit)
        {
            return false;
        }

        Volatile.Write(ref _flushPending, 1);
        return true;
    }
}
