namespace AspNetWebSockets;

/// <summary>
/// Who holds a connection's input: nobody, an application receive (or the close drain), or the heartbeat's brief peek
/// (see <see cref="IdleInputReader"/>). Only one receive may be pending at a time, and the peek must never race a read.
/// A mutable struct, held inline by the connection: keep it in a non-readonly field and pass it by reference, never copy it.
/// </summary>
internal struct ReceiveSlot
{
    private const int Idle = 0;
    private const int Application = 1;
    private const int Peek = 2;

    private int _holder;

    /// <summary>Takes the input for an application receive, or throws if another receive holds it.</summary>
    /// <exception cref="InvalidOperationException">A receive is already in progress.</exception>
    public void Enter()
    {
        if (!TryEnter())
        {
            throw new InvalidOperationException("A receive is already in progress; only one may be pending at a time.");
        }
    }

    /// <summary>Takes the input for a receive; false if another receive holds it. Waits out the heartbeat's peek, which never awaits.</summary>
    public bool TryEnter()
    {
        SpinWait spin = default;
        while (true)
        {
            int holder = Interlocked.CompareExchange(ref _holder, Application, Idle);
            if (holder == Idle)
            {
                return true;
            }

            if (holder == Application)
            {
                return false;
            }

            spin.SpinOnce();
        }
    }

    /// <summary>Takes the input for the heartbeat's peek if nobody holds it; never waits.</summary>
    public bool TryEnterPeek() => Interlocked.CompareExchange(ref _holder, Peek, Idle) == Idle;

    /// <summary>Releases the input.</summary>
    public void Exit() => Volatile.Write(ref _holder, Idle);
}
