namespace AspNetWebSockets;

/// <summary>
/// The connections corked by the receive callback running on one thread: the connection whose read completed and any
/// other it sends to (a reply, a broadcast's members), so each gets one flush per callback however many messages the
/// callback sends it. One per thread, made once and reused: no allocation per callback. Its own type because it spans
/// connections.
/// </summary>
internal sealed class CallbackBatch
{
    // A broadcast to more members than this flushes the rest at once: holding every member's bytes until the callback
    // ends would make a large fan-out buffer all of them at the same time.
    private const int MaxMembers = 256;

    /// <summary>The receive callbacks running on this thread (nested when a flush completes another read inline) and the connections they corked.</summary>
    [ThreadStatic]
    private static CallbackBatch? t_current;

    private readonly List<FrameSender> _members = [];

    /// <summary>How many receive callbacks run on this thread, nested.</summary>
    private int _depth;

    /// <summary>Enters a receive callback on this thread; pass the batch to <see cref="Exit"/> when it ends.</summary>
    public static CallbackBatch Enter()
    {
        CallbackBatch batch = t_current ??= new CallbackBatch();
        batch._depth++;
        return batch;
    }

    /// <summary>
    /// Corks <paramref name="sender"/>'s connection until the callback running on this thread ends; false when none runs,
    /// the batch is full, or another thread corked it.
    /// </summary>
    public static bool TryJoin(FrameSender sender)
    {
        if (t_current is not { _depth: > 0 } batch || batch._members.Count >= MaxMembers || !sender.TryBeginCork())
        {
            return false;
        }

        batch._members.Add(sender);
        return true;
    }

    /// <summary>
    /// Leaves a receive callback. The outermost one ends every member's cork with its flush, still at depth 1, so a
    /// callback completed inline by a flush joins this batch instead of flushing it.
    /// </summary>
    public void Exit()
    {
        if (_depth == 1)
        {
            for (int i = 0; i < _members.Count; i++)
            {
                _members[i].EndCork();
            }

            _members.Clear();
        }

        _depth--;
    }
}
