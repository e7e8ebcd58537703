using System.Collections.Concurrent;

namespace AspNetWebSockets.Transport.Linux;

/// <summary>
/// One event loop: an epoll instance and the thread that waits on it, as uSockets runs one per core. Descriptors are
/// registered edge-triggered with an <see cref="IEpollHandler"/>; a registration costs one slot in an array (no object
/// per connection), and work can be posted to the loop's thread from anywhere.
/// </summary>
internal sealed unsafe class EpollLoop : IDisposable
{
    private const int MaxEvents = 256;

    // The eventfd that wakes the loop for posted work has its own epoll data, outside the slot range.
    private const ulong WakeData = ulong.MaxValue;

    private readonly int _epoll;
    private readonly int _wake;
    private readonly Thread _thread;
    private readonly Action<Exception> _onError;
    private readonly ConcurrentQueue<(Action<object?> Action, object? State)> _posted = new();
    private readonly object _gate = new();

    // Slot i holds the handler registered under i and the generation its epoll data carries, so an event for a slot
    // that was freed (and perhaps reused) while the event was in flight is recognised as stale.
    private IEpollHandler?[] _handlers = new IEpollHandler?[256];
    private uint[] _generations = new uint[256];
    private readonly Stack<int> _freeSlots = new();
    private int _nextSlot;
    private int _wakePending;
    private volatile bool _stopping;

    /// <param name="name">The thread's name.</param>
    /// <param name="onError">Called (on the loop thread) with an exception a handler or posted work threw; the loop goes on.</param>
    public EpollLoop(string name, Action<Exception> onError)
    {
        _onError = onError;
        _epoll = Libc.epoll_create1(Libc.O_CLOEXEC);
        _wake = Libc.eventfd(0, Libc.O_NONBLOCK | Libc.O_CLOEXEC);
        if (_epoll < 0 || _wake < 0 || Libc.EpollControl(_epoll, Libc.EPOLL_CTL_ADD, _wake, Libc.EPOLLIN, WakeData) != 0)
        {
            int error = Libc.LastError;
            CloseDescriptors();
            throw new IOException($"Could not create the event loop (errno {error}).");
        }

        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.UnsafeStart();
    }

    /// <summary>Whether the calling thread is this loop's thread.</summary>
    public bool IsLoopThread => Thread.CurrentThread == _thread;

    /// <summary>Registers <paramref name="fd"/> edge-triggered for <paramref name="events"/>; returns the slot to modify or remove it with.</summary>
    public int Register(int fd, uint events, IEpollHandler handler)
    {
        int slot;
        uint generation;
        lock (_gate)
        {
            if (!_freeSlots.TryPop(out slot))
            {
                slot = _nextSlot++;
                if (slot == _handlers.Length)
                {
                    // Published after the copy: the loop thread reads whichever array is current, and both hold every
                    // registration that can have events.
                    IEpollHandler?[] handlers = _handlers;
                    uint[] generations = _generations;
                    Array.Resize(ref generations, slot * 2);
                    Array.Resize(ref handlers, slot * 2);
                    Volatile.Write(ref _generations, generations);
                    Volatile.Write(ref _handlers, handlers);
                }
            }

            _handlers[slot] = handler;
            generation = _generations[slot];
        }

        if (Libc.EpollControl(_epoll, Libc.EPOLL_CTL_ADD, fd, events | Libc.EPOLLET, Data(slot, generation)) != 0)
        {
            int error = Libc.LastError;
            Free(slot);
            throw new IOException($"epoll_ctl(ADD) failed (errno {error}).");
        }

        return slot;
    }

    /// <summary>Changes the events <paramref name="fd"/> (registered under <paramref name="slot"/>) waits for.</summary>
    public bool Modify(int fd, int slot, uint events)
    {
        uint generation = Volatile.Read(ref _generations)[slot];
        return Libc.EpollControl(_epoll, Libc.EPOLL_CTL_MOD, fd, events | Libc.EPOLLET, Data(slot, generation)) == 0;
    }

    /// <summary>Removes <paramref name="fd"/>'s registration and frees its slot; call before closing the descriptor.</summary>
    public void Unregister(int fd, int slot)
    {
        _ = Libc.EpollControl(_epoll, Libc.EPOLL_CTL_DEL, fd, 0, 0);
        Free(slot);
    }

    /// <summary>Runs <paramref name="action"/> on the loop's thread, after the events it is handling now.</summary>
    public void Post(Action<object?> action, object? state)
    {
        _posted.Enqueue((action, state));
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            ulong one = 1;
            _ = Libc.write(_wake, (byte*)&one, sizeof(ulong));
        }
    }

    /// <summary>Stops the thread (after the batch it is handling) and closes the epoll instance.</summary>
    public void Dispose()
    {
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        Post(static _ => { }, null);
        if (!IsLoopThread)
        {
            _thread.Join(TimeSpan.FromSeconds(5));
        }
    }

    private static ulong Data(int slot, uint generation) => ((ulong)generation << 32) | (uint)slot;

    private void Free(int slot)
    {
        lock (_gate)
        {
            _handlers[slot] = null;
            _generations[slot]++;
            _freeSlots.Push(slot);
        }
    }

    private void Run()
    {
        byte* events = stackalloc byte[MaxEvents * Libc.EpollEventSize];
        while (!_stopping)
        {
            int count = Libc.epoll_wait(_epoll, events, MaxEvents, -1);
            if (count < 0)
            {
                if (Libc.LastError == Libc.EINTR)
                {
                    continue;
                }

                _onError(new IOException($"epoll_wait failed (errno {Libc.LastError})."));
                break;
            }

            for (int i = 0; i < count; i++)
            {
                (uint mask, ulong data) = Libc.EpollEventAt(events, i);
                if (data == WakeData)
                {
                    ulong value;
                    _ = Libc.read(_wake, (byte*)&value, sizeof(ulong));
                    continue; // posted work runs after the batch
                }

                int slot = (int)(uint)data;
                IEpollHandler?[] handlers = Volatile.Read(ref _handlers);
                uint[] generations = Volatile.Read(ref _generations);
                if (slot >= handlers.Length || generations[slot] != (uint)(data >> 32) || handlers[slot] is not { } handler)
                {
                    continue; // stale: removed while the event was in flight
                }

                try
                {
                    handler.OnEvents(mask);
                }
                catch (Exception e)
                {
                    _onError(e);
                }
            }

            RunPosted();
        }

        RunPosted();
        CloseDescriptors();
    }

    private void RunPosted()
    {
        Volatile.Write(ref _wakePending, 0);
        while (_posted.TryDequeue(out (Action<object?> Action, object? State) work))
        {
            try
            {
                work.Action(work.State);
            }
            catch (Exception e)
            {
                _onError(e);
            }
        }
    }

    private void CloseDescriptors()
    {
        if (_wake >= 0)
        {
            _ = Libc.close(_wake);
        }

        if (_epoll >= 0)
        {
            _ = Libc.close(_epoll);
        }
    }
}
