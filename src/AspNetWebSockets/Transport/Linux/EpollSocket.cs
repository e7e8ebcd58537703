using System.Buffers;
using System.IO.Pipelines;

namespace AspNetWebSockets.Transport.Linux;

/// <summary>
/// One accepted TCP connection driven by an <see cref="EpollLoop"/>: the descriptor, what arrived and was not consumed
/// yet, and what was written and not sent yet. Both buffers are rented only while they hold bytes, so an idle
/// connection holds this object and nothing else. While Kestrel owns the connection it reads and writes through thin
/// views (<see cref="EpollSocketReader"/>, <see cref="EpollSocketWriter"/>), cut off when the connection changes hands
/// after an upgrade; the WebSocket that then owns it reads the socket itself, which is its own <see cref="PipeReader"/>
/// (a view of its own cost 40 bytes per idle lean connection), and writes through <see cref="LeanTransport"/>.
/// </summary>
/// <remarks>
/// Reading: the loop receives whenever the kernel has bytes — whether or not anyone is reading, so a keep-alive sees a
/// live peer — until <see cref="InputPauseThreshold"/> unread bytes wait. Writing: a flush tries <c>send</c> at once on
/// the caller's thread; only what the kernel did not take waits for <c>EPOLLOUT</c>, and the flush waits only when more
/// than <see cref="OutputPauseThreshold"/> bytes are queued (a Kestrel output pipe's default). All state is under one
/// lock; waiters are completed outside it.
/// </remarks>
internal sealed partial class EpollSocket : PipeReader, IEpollHandler
{
    public const int InputPauseThreshold = 64 * 1024;
    public const int OutputPauseThreshold = 64 * 1024;
    private const int OutputResumeThreshold = OutputPauseThreshold / 2;
    private const int MinimumReceiveSpace = 4096;
    private const int MaximumInputBuffer = 1024 * 1024;

    private readonly EpollLoop _loop;
    private readonly bool _inline;
    private SocketGate _gate; // a mutable struct: never readonly, never copied
    private int _fd;
    private int _slot;

    // Input: bytes [_inStart, _inEnd) of _in are unread; the reader has examined up to _inExamined. While the reader
    // holds a read's buffer (_readerHolds), the loop may only append.
    private byte[]? _in;
    private int _inStart;
    private int _inEnd;
    private int _inExamined;
    private bool _readerHolds;
    private bool _receivePaused; // the loop stopped before EAGAIN: whoever frees space receives on
    private bool _inputEnded;
    private bool _peerHungUp; // the loop saw EPOLLRDHUP, EPOLLHUP or EPOLLERR: receive until recv says how the input ended
    private bool _cancelNextRead;
    private bool _readWaiting;
    private IThreadPoolWorkItem? _inputWaiter; // a reader waiting for input without a read (WaitForInput)
    private EpollReadWaiter? _readWaiter; // made by the first read that waits; dropped at the hand-over (DropReadWaiter)

    // Output: bytes [_outStart, _outEnd) of _out are unsent; a flush asked for those before _outFlushed. The writer
    // holds the tail between GetMemory and Advance (_writerHolds).
    private byte[]? _out;
    private int _outStart;
    private int _outEnd;
    private int _outFlushed;
    private bool _writerHolds;
    private bool _sendBlocked; // waiting for EPOLLOUT
    private bool _outputFailed;
    private bool _flushWaiting;
    private EpollFlushWaiter? _flushWaiter;
    private TaskCompletionSource? _sent; // made only when someone waits for the queue to empty (a shutdown, a hand-over)

    private bool _closed;

    // Run (on the thread pool) when the peer ends the input while nobody may be reading: Kestrel's connection-closed
    // token during the HTTP phase. Cleared at the hand-over. One reference (a work item, not a delegate and its state):
    // 8 bytes less per connection, and it is read whole, never half cleared.
    private IThreadPoolWorkItem? _onInputEnded;

    /// <param name="loop">The loop the descriptor is registered with.</param>
    /// <param name="fd">A connected, non-blocking TCP socket; this object owns it from now on.</param>
    /// <param name="inline">
    /// Whether a read or flush that completes on the loop runs its continuation there (the event-loop mode) instead of
    /// on the thread pool.
    /// </param>
    public EpollSocket(EpollLoop loop, int fd, bool inline)
    {
        _loop = loop;
        _fd = fd;
        _inline = inline;
        Libc.SetNoDelay(fd);
        _slot = loop.Register(fd, Libc.EPOLLIN | Libc.EPOLLRDHUP, this);
    }

    /// <summary>The descriptor (-1 once closed).</summary>
    public int Descriptor => Volatile.Read(ref _fd);

    /// <summary>Whether either buffer is rented now (an idle connection holds none).</summary>
    public bool HoldsBuffers
    {
        get
        {
            using (_gate.Enter())
            {
                return _in is not null || _out is not null;
            }
        }
    }

    /// <summary>Whether the socket holds the machinery of a read that waits (an idle lean WebSocket's holds none).</summary>
    public bool HoldsReadWaiter
    {
        get
        {
            using (_gate.Enter())
            {
                return _readWaiter is not null;
            }
        }
    }

    /// <summary>Runs <paramref name="callback"/> on the thread pool when the loop sees the peer end the input (null: nobody).</summary>
    public void OnInputEnded(IThreadPoolWorkItem? callback)
    {
        using (_gate.Enter())
        {
            _onInputEnded = callback;
        }
    }

    /// <inheritdoc/>
    public void OnEvents(uint events)
    {
        EpollReadWaiter? completeRead;
        bool completeFlush = false;
        bool endedNow;
        IThreadPoolWorkItem? inputWaiter;
        using (_gate.Enter())
        {
            if (_closed)
            {
                return;
            }

            endedNow = !_inputEnded;

            if ((events & (Libc.EPOLLOUT | Libc.EPOLLERR | Libc.EPOLLHUP)) != 0 && _sendBlocked)
            {
                completeFlush = SendLocked();
            }

            // EPOLLIN, and hang-up or error (recv reports them): receive until the kernel has nothing more or the pause threshold.
            _peerHungUp |= (events & (Libc.EPOLLRDHUP | Libc.EPOLLHUP | Libc.EPOLLERR)) != 0;
            ReceiveLocked();
            completeRead = ReadReadyLocked();
            inputWaiter = TakeInputWaiterLocked();
            endedNow &= _inputEnded;
        }

        if (endedNow && Volatile.Read(ref _onInputEnded) is { } ended)
        {
            ThreadPool.UnsafeQueueUserWorkItem(ended, preferLocal: false);
        }

        if (completeFlush)
        {
            CompleteFlush();
        }

        if (completeRead is not null)
        {
            CompleteRead(completeRead);
        }

        RunInputWaiter(inputWaiter);
    }

    /// <summary>Ends the connection abruptly: a reset, no more bytes either way; pending reads and flushes complete.</summary>
    public void Abort() => Close(abortive: true);

    /// <summary>
    /// Ends the connection: removes it from the loop, closes the descriptor (after a reset when
    /// <paramref name="abortive"/>), returns the buffers, and completes a pending read and flush.
    /// </summary>
    public void Close(bool abortive)
    {
        EpollReadWaiter? completeRead;
        bool completeFlush;
        IThreadPoolWorkItem? inputWaiter;
        using (_gate.Enter())
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            _inputEnded = true;
            _outputFailed = true;
            _loop.Unregister(_fd, _slot);
            if (abortive)
            {
                Libc.SetAbortiveClose(_fd);
            }

            _ = Libc.close(_fd);
            Volatile.Write(ref _fd, -1);
            completeRead = ReadReadyLocked();
            inputWaiter = TakeInputWaiterLocked();
            completeFlush = _flushWaiting;
            _flushWaiting = false;
            _sent?.TrySetResult();
            _sent = null;
            ReleaseBuffersLocked();
        }

        if (completeFlush)
        {
            CompleteFlush();
        }

        if (completeRead is not null)
        {
            CompleteRead(completeRead);
        }

        RunInputWaiter(inputWaiter);
    }

    /// <summary>Sends what is queued, then signals end-of-stream to the peer (FIN); reading goes on until the peer closes.</summary>
    public async ValueTask ShutdownOutputAsync()
    {
        await FlushAsync(CancellationToken.None).ConfigureAwait(false);
        await WaitUntilSentAsync().ConfigureAwait(false);
        using (_gate.Enter())
        {
            if (!_closed)
            {
                _ = Libc.shutdown(_fd, Libc.SHUT_WR);
            }
        }
    }

    private void ReleaseBuffersLocked()
    {
        if (_in is not null && !_readerHolds)
        {
            ArrayPool<byte>.Shared.Return(_in);
            _in = null;
            _inStart = _inEnd = _inExamined = 0;
        }

        if (_out is not null && !_writerHolds)
        {
            ArrayPool<byte>.Shared.Return(_out);
            _out = null;
            _outStart = _outEnd = _outFlushed = 0;
        }
    }
}
