using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace AspNetWebSockets.Transport.Linux;

/// <summary>
/// The lock of one <see cref="EpollSocket"/>: a word taken with one compare-exchange and released with one store. Its
/// sections are short and never wait (bookkeeping, and non-blocking <c>recv</c>/<c>send</c>), and nearly always
/// uncontended (the socket's loop thread, or the one application thread sending), so the rare contender spins and then
/// yields. Why not <see cref="Lock"/>: the thread identity and recursion it tracks cost, at 4–5 sections per echoed message,
/// about a tenth of the event loop's time (perf, 64 B echo), and its 40 B object is held by every idle connection. Not
/// re-entrant: a section calls no code that could take it again (completions run after it is released).
/// </summary>
internal struct SocketGate
{
    private int _held;
#if DEBUG
    private int _owner; // tests run Debug builds: a re-entry fails there instead of spinning forever
#endif

    /// <summary>Takes the gate; dispose the result to release it.</summary>
    [UnscopedRef]
    public Scope Enter()
    {
        if (Interlocked.CompareExchange(ref _held, 1, 0) != 0)
        {
            EnterContended();
        }
#if DEBUG
        _owner = Environment.CurrentManagedThreadId;
#endif

        return new Scope(ref this);
    }

    private void EnterContended()
    {
#if DEBUG
        if (Volatile.Read(ref _owner) == Environment.CurrentManagedThreadId && Volatile.Read(ref _held) != 0)
        {
            throw new InvalidOperationException("A socket gate section re-entered the gate.");
        }
#endif
        SpinWait spin = default;
        do
        {
            // SpinWait yields and then sleeps as it goes on, so a holder that was preempted gets the core back.
            spin.SpinOnce(sleep1Threshold: -1);
        }
        while (Volatile.Read(ref _held) != 0 || Interlocked.CompareExchange(ref _held, 1, 0) != 0);
    }

    private void Exit()
    {
        Debug.Assert(_held == 1, "Releasing a socket gate that is not held.");
#if DEBUG
        _owner = 0;
#endif
        Volatile.Write(ref _held, 0);
    }

    /// <summary>The held gate, released by <see cref="Dispose"/> (a <c>using</c> block).</summary>
    public readonly ref struct Scope
    {
        private readonly ref SocketGate _gate;

        internal Scope(ref SocketGate gate) => _gate = ref gate;

        public void Dispose() => _gate.Exit();
    }
}
