namespace AspNetWebSockets;

/// <summary>
/// Keep-alive bookkeeping: when bytes last arrived and when our last keep-alive ping left, and what a heartbeat tick
/// should do about them — ping a peer silent for the interval, give up on one that stays silent for the timeout after
/// the ping. Its own type so the connection only acts on the verdict. A mutable struct held inline by the connection (no
/// object per connection): keep it in a non-readonly field and pass it by reference, never copy it.
/// </summary>
internal struct KeepAliveClock(long openedAt)
{
    private long _lastReceived = openedAt;
    private long _pingSentAt;
    private int _arrived; // 1: bytes arrived since the last tick, which dates them

    /// <summary>What a tick calls for.</summary>
    public enum Verdict : byte
    {
        /// <summary>Nothing: keep-alive is off, the peer is not silent yet, or the ping's timeout has not passed.</summary>
        Nothing,

        /// <summary>The peer has been silent for the interval: send a ping (its time is recorded).</summary>
        Ping,

        /// <summary>Nothing at all arrived within the timeout after our ping: the peer is gone.</summary>
        TimedOut,
    }

    /// <summary>
    /// Records that bytes arrived. The next tick dates them, so they count as arrived up to one heartbeat period late
    /// (a quarter of the interval at most, see <see cref="WebSocketHeartbeat.PeriodFor"/>), which can only delay a ping:
    /// this runs for every message, and a flag costs less than reading the clock.
    /// </summary>
    public void Received()
    {
        if (Volatile.Read(ref _arrived) == 0)
        {
            Volatile.Write(ref _arrived, 1); // written only when it changes: a busy connection does not dirty the line
        }
    }

    /// <summary>
    /// Decides what the heartbeat tick at <paramref name="now"/> does under the connection's keep-alive
    /// <paramref name="interval"/> and <paramref name="timeout"/> (passed in: they are the endpoint's, held once in the
    /// shared settings); a <see cref="Verdict.Ping"/> is recorded as sent.
    /// </summary>
    public Verdict Tick(long now, TimeSpan interval, TimeSpan timeout)
    {
        if (interval == System.Threading.Timeout.InfiniteTimeSpan)
        {
            return Verdict.Nothing;
        }

        // Exchanged, not read and cleared: an arrival between the two would be lost.
        if (Interlocked.Exchange(ref _arrived, 0) != 0)
        {
            Volatile.Write(ref _lastReceived, now);
        }

        long lastReceived = Volatile.Read(ref _lastReceived);
        long pingSentAt = Volatile.Read(ref _pingSentAt);
        if (pingSentAt != 0 && lastReceived < pingSentAt)
        {
            return timeout == System.Threading.Timeout.InfiniteTimeSpan || now - pingSentAt < (long)timeout.TotalMilliseconds
                ? Verdict.Nothing
                : Verdict.TimedOut;
        }

        if (now - lastReceived < (long)interval.TotalMilliseconds)
        {
            return Verdict.Nothing;
        }

        Volatile.Write(ref _pingSentAt, now);
        return Verdict.Ping;
    }
}
