using System.Diagnostics;

namespace AspNetWebSockets;

/// <summary>
/// The connection's message lock and write lock, kept in one state word so an uncontended whole-message send takes
/// both with one compare-exchange and releases both with another.
/// </summary>
/// <remarks>
/// <para>
/// Why not two <see cref="SemaphoreSlim"/>s: each Wait(0)/Release pair enters and leaves a monitor twice, and a
/// whole-message send needs two pairs; in the echo micro-benchmark that was about a tenth of the time per message.
/// Why not one lock: a streamed message holds the message lock across its fragments while control frames (pongs,
/// close) must still get out between them, so the roles differ; they share only the state word.
/// </para>
/// <para>
/// State bits, per lock: held, and has-waiters. Invariant: a lock's has-waiters bit is set exactly while its queue is
/// non-empty, and only while the lock is held (a waiter queues only behind a holder, and a release with waiters hands
/// ownership straight to the first one without clearing held). Lock-free fast paths touch a lock's bits only when its
/// has-waiters bit is clear: acquire sets held if held is clear; release clears held. Everything involving a queue
/// (queuing, cancelling, handing off) runs under the gate (a monitor on the owning <see cref="FrameSender"/>), and changes bits with compare-exchange loops
/// because the other lock's fast paths may change its own bits at the same moment. A release that finds
/// has-waiters set therefore always goes through the gate, where it either hands off or (the queue emptied by
/// cancellation meanwhile) clears held; a waiter cannot be stranded behind a released lock.
/// </para>
/// <para>
/// Waiters are woken in FIFO order, like <see cref="SemaphoreSlim.WaitAsync()"/>; an arrival may still take a lock the
/// instant it is free with nobody queued, as <c>Wait(0)</c> could. Continuations run asynchronously, so a release (for
/// example by the receive loop after a pong) never runs the next sender's code inline. Waiting allocates a waiter;
/// the uncontended paths allocate nothing.
/// </para>
/// <para>
/// A mutable struct held inline by its one owner, the connection's <see cref="FrameSender"/>, which is also the gate: as
/// an object of its own (with a <see cref="Lock"/> of its own before that) it cost 32 bytes per connection for one int
/// and one reference. The owner passes itself to the calls that take the gate or queue a waiter. Keep it in a
/// non-readonly field and never copy it.
/// </para>
/// </remarks>
internal struct SendLocks
{
    /// <summary>Held for a whole data message: every fragment of a streamed one.</summary>
    public const int Message = 0;

    /// <summary>Held while one frame is written and flushed.</summary>
    public const int Write = 1;

    private const int MessageHeld = 1;
    private const int WriteHeld = 2;
    private const int BothHeld = MessageHeld | WriteHeld;

    // Has-waiters bit of lock k is Held(k) << 2.
    private const int WaiterShift = 2;

    private int _state;

    // Created by the first waiter (under the gate): an uncontended connection, idle ones above all, holds none.
    private WaiterQueue[]? _queues;

    /// <summary>Takes both locks if both are free and nobody waits for either; never blocks.</summary>
    public bool TryEnterBoth() => Interlocked.CompareExchange(ref _state, BothHeld, 0) == 0;

    /// <summary>Releases both locks taken by <see cref="TryEnterBoth"/> (or separately): the write lock first, as nested.</summary>
    public void ExitBoth(FrameSender owner)
    {
        if (Interlocked.CompareExchange(ref _state, 0, BothHeld) != BothHeld)
        {
            Exit(Write, owner);
            Exit(Message, owner);
        }
    }

    /// <summary>Takes lock <paramref name="which"/> if it is free and nobody waits for it; never blocks.</summary>
    public bool TryEnter(int which)
    {
        int held = 1 << which;
        int waiters = held << WaiterShift;
        int state = Volatile.Read(ref _state);
        while ((state & (held | waiters)) == 0)
        {
            int seen = Interlocked.CompareExchange(ref _state, state | held, state);
            if (seen == state)
            {
                return true;
            }

            state = seen;
        }

        return false;
    }

    /// <summary>Takes lock <paramref name="which"/>, waiting in turn if it is held.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before the lock was taken; nothing is held then.</exception>
    public ValueTask EnterAsync(int which, FrameSender owner, CancellationToken cancellationToken)
    {
        if (TryEnter(which))
        {
            return default;
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        Waiter? waiter = Enqueue(which, owner);
        return waiter is null ? default : WaitAsync(waiter, cancellationToken);
    }

    /// <summary>Releases lock <paramref name="which"/>, handing it to the first waiter if there is one.</summary>
    public void Exit(int which, FrameSender owner)
    {
        int held = 1 << which;
        int waiters = held << WaiterShift;
        int state = Volatile.Read(ref _state);
        while ((state & waiters) == 0)
        {
            Debug.Assert((state & held) != 0, "Releasing a send lock that is not held.");
            int seen = Interlocked.CompareExchange(ref _state, state & ~held, state);
            if (seen == state)
            {
                return;
            }

            state = seen;
        }

        Waiter? next;
        lock (owner)
        {
            next = _queues![which].Dequeue(); // has-waiters was set, so a waiter created the queues
            if (next is null)
            {
                // Every waiter cancelled after we read the state: nobody to hand to.
                Update(clear: held | waiters, set: 0);
            }
            else if (_queues[which].IsEmpty)
            {
                Update(clear: waiters, set: 0); // held stays set: ownership passes to next
            }
        }

        next?.TrySetResult();
    }

    /// <summary>Under the gate: takes the lock if it was freed meanwhile (returns null), or queues a waiter for it.</summary>
    private Waiter? Enqueue(int which, FrameSender owner)
    {
        int held = 1 << which;
        int waiters = held << WaiterShift;
        lock (owner)
        {
            // Under the gate no hand-off or cancellation can run, so held-or-queue is decided atomically here.
            int state = Volatile.Read(ref _state);
            while (true)
            {
                int desired = (state & held) == 0 ? state | held : state | waiters;
                int seen = Interlocked.CompareExchange(ref _state, desired, state);
                if (seen == state)
                {
                    break;
                }

                state = seen;
            }

            if ((state & held) == 0)
            {
                return null; // freed between the fast path and the gate
            }

            var waiter = new Waiter(owner, which);
            (_queues ??= [new(), new()])[which].Enqueue(waiter);
            return waiter;
        }
    }

    private static async ValueTask WaitAsync(Waiter waiter, CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled)
        {
            // Registered outside the gate: a token cancelled meanwhile runs the callback inline, and it takes the gate.
            waiter.Registration = cancellationToken.UnsafeRegister(
                static (state, token) => ((Waiter)state!).Owner.CancelSendLockWait((Waiter)state!, token), waiter);
        }

        try
        {
            await waiter.Task.ConfigureAwait(false);
        }
        finally
        {
            waiter.Registration.Dispose();
        }
    }

    /// <summary>Removes a cancelled waiter if it is still queued; if the lock was already handed to it, it keeps it.</summary>
    public void Cancel(Waiter waiter, CancellationToken token)
    {
        lock (waiter.Owner)
        {
            WaiterQueue queue = _queues![waiter.Which]; // the waiter was queued, so the queues exist
            if (!queue.Remove(waiter))
            {
                return;
            }

            if (queue.IsEmpty)
            {
                Update(clear: (1 << waiter.Which) << WaiterShift, set: 0);
            }
        }

        waiter.TrySetCanceled(token);
    }

    /// <summary>Changes bits under the gate, racing only with the other lock's fast paths.</summary>
    private void Update(int clear, int set)
    {
        int state = Volatile.Read(ref _state);
        while (true)
        {
            int seen = Interlocked.CompareExchange(ref _state, (state & ~clear) | set, state);
            if (seen == state)
            {
                return;
            }

            state = seen;
        }
    }

    /// <summary>A queued sender: completed when the lock is handed to it.</summary>
    internal sealed class Waiter(FrameSender owner, int which) : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public FrameSender Owner { get; } = owner;

        public int Which { get; } = which;

        public CancellationTokenRegistration Registration { get; set; }

        public Waiter? Previous { get; set; }

        public Waiter? Next { get; set; }

        public bool Queued { get; set; }
    }

    /// <summary>A doubly linked FIFO of waiters, so a cancelled one leaves in constant time. Used only under the gate.</summary>
    private sealed class WaiterQueue
    {
        private Waiter? _head;
        private Waiter? _tail;

        public bool IsEmpty => _head is null;

        public void Enqueue(Waiter waiter)
        {
            waiter.Queued = true;
            waiter.Previous = _tail;
            if (_tail is null)
            {
                _head = waiter;
            }
            else
            {
                _tail.Next = waiter;
            }

            _tail = waiter;
        }

        public Waiter? Dequeue()
        {
            Waiter? waiter = _head;
            if (waiter is not null)
            {
                Remove(waiter);
            }

            return waiter;
        }

        public bool Remove(Waiter waiter)
        {
            if (!waiter.Queued)
            {
                return false;
            }

            if (waiter.Previous is null)
            {
                _head = waiter.Next;
            }
            else
            {
                waiter.Previous.Next = waiter.Next;
            }

            if (waiter.Next is null)
            {
                _tail = waiter.Previous;
            }
            else
            {
                waiter.Next.Previous = waiter.Previous;
            }

            waiter.Previous = waiter.Next = null;
            waiter.Queued = false;
            return true;
        }
    }
}
