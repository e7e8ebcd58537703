using System.Buffers;
using System.IO.Pipelines;

namespace AspNetWebSockets.Transport.Linux;

/// <summary>The input side: what the loop receives, and the <see cref="PipeReader"/> contract over it.</summary>
internal sealed unsafe partial class EpollSocket
{
    /// <summary>The next read: what is unread now if the reader has not examined all of it, else waits for more.</summary>
    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        using (_gate.Enter())
        {
            if (TryReadLocked(out ReadResult result))
            {
                return new ValueTask<ReadResult>(result);
            }

            if (_readWaiting || _inputWaiter is not null)
            {
                throw new InvalidOperationException("Only one read may be pending at a time.");
            }

            _readWaiting = true;
            _readWaiter ??= new EpollReadWaiter(_inline);
            return _readWaiter.Start(cancellationToken, static (state, token) => ((EpollSocket)state!).CancelRead(token), this);
        }
    }

    /// <summary>
    /// Waits for input without a read: false when there is input (or its end) now, to be read with <see cref="TryRead"/>;
    /// true when <paramref name="waiter"/> will run once there is — on the loop's thread when continuations run inline
    /// (the event-loop mode), else on the thread pool. A reader that waits this way holds nothing in the socket but the
    /// one reference, where a pending <see cref="ReadAsync"/> holds its continuation, state and registration.
    /// </summary>
    public bool WaitForInput(IThreadPoolWorkItem waiter)
    {
        using (_gate.Enter())
        {
            if (_readWaiting || _inputWaiter is not null)
            {
                throw new InvalidOperationException("Only one read may be pending at a time.");
            }

            if (_receivePaused && !_closed)
            {
                ReceiveLocked(); // nothing unexamined, but the loop left bytes in the kernel: take them now
            }

            if (InputReadyLocked)
            {
                return false;
            }

            _inputWaiter = waiter;
            return true;
        }
    }

    /// <summary>Withdraws <paramref name="waiter"/>'s wait; false when it already ran or is about to (the input came first).</summary>
    public bool CancelInputWait(IThreadPoolWorkItem waiter)
    {
        using (_gate.Enter())
        {
            if (!ReferenceEquals(_inputWaiter, waiter))
            {
                return false;
            }

            _inputWaiter = null;
            return true;
        }
    }

    /// <summary>What <see cref="PipeReader.TryRead"/> returns: the unread bytes if there are any not yet examined, or the end.</summary>
    public override bool TryRead(out ReadResult result)
    {
        using (_gate.Enter())
        {
            return TryReadLocked(out result);
        }
    }

    /// <summary>Marks the bytes before <paramref name="consumed"/> as used and seen.</summary>
    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    /// <summary>Marks the bytes before <paramref name="consumed"/> as used and those before <paramref name="examined"/> as seen.</summary>
    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        using (_gate.Enter())
        {
            if (_in is not null && (consumed.GetObject() is not null || examined.GetObject() is not null))
            {
                int consumedIndex = consumed.GetObject() is null ? _inStart : consumed.GetInteger();
                int examinedIndex = examined.GetObject() is null ? consumedIndex : examined.GetInteger();
                if (consumedIndex < _inStart || consumedIndex > _inEnd || examinedIndex < consumedIndex || examinedIndex > _inEnd)
                {
                    throw new InvalidOperationException("The position is outside the last read's buffer.");
                }

                _inStart = consumedIndex;
                _inExamined = Math.Max(_inExamined, examinedIndex);
            }

            _readerHolds = false;
            if (_inStart == _inEnd && _in is not null)
            {
                // Everything was used: an idle connection holds no receive buffer.
                ArrayPool<byte>.Shared.Return(_in);
                _in = null;
                _inStart = _inEnd = _inExamined = 0;
            }

            if (_receivePaused && !_closed)
            {
                ReceiveLocked(); // no read waits now (the reader is the caller): the next one sees what came
            }
        }
    }

    /// <summary>Makes the pending read (or the next one) return at once with <see cref="ReadResult.IsCanceled"/>.</summary>
    public override void CancelPendingRead()
    {
        EpollReadWaiter? complete;
        IThreadPoolWorkItem? inputWaiter;
        using (_gate.Enter())
        {
            _cancelNextRead = true;
            complete = ReadReadyLocked();
            inputWaiter = TakeInputWaiterLocked();
        }

        if (complete is not null)
        {
            CompleteRead(complete);
        }

        RunInputWaiter(inputWaiter);
    }

    /// <summary>
    /// Does nothing, as the lean transport's reader view did before the socket became its own reader: the socket's owner
    /// ends it with <see cref="Close"/> or <see cref="Abort"/> (<see cref="LeanTransport"/> does), not by completing its input.
    /// </summary>
    public override void Complete(Exception? exception = null)
    {
    }

    /// <summary>
    /// Lets go of the waiting-read machinery unless a read waits (at the hand-over: Kestrel's reads are over, and the
    /// WebSocket waits for input with <see cref="WaitForInput"/>). A later read that has to wait makes a new one.
    /// </summary>
    public void DropReadWaiter()
    {
        using (_gate.Enter())
        {
            if (!_readWaiting)
            {
                _readWaiter = null; // a read completed but not yet taken holds its waiter through its ValueTask
            }
        }
    }

    private void CancelRead(CancellationToken token)
    {
        EpollReadWaiter waiter;
        using (_gate.Enter())
        {
            if (!_readWaiting)
            {
                return;
            }

            _readWaiting = false;
            waiter = _readWaiter!;
        }

        waiter.Cancel(token);
    }

    private bool TryReadLocked(out ReadResult result)
    {
        if (_cancelNextRead)
        {
            _cancelNextRead = false;
            result = new ReadResult(UnreadLocked(), isCanceled: true, isCompleted: _inputEnded);
            _readerHolds = _in is not null;
            return true;
        }

        if (_inEnd > _inExamined || (_inputEnded && _inEnd >= _inExamined))
        {
            result = new ReadResult(UnreadLocked(), isCanceled: false, isCompleted: _inputEnded);
            _readerHolds = _in is not null;
            return true;
        }

        if (_receivePaused && !_closed)
        {
            // Nothing new, but the loop left bytes in the kernel: take them now.
            ReceiveLocked();
            return TryReadLocked(out result);
        }

        result = default;
        return false;
    }

    private ReadOnlySequence<byte> UnreadLocked() => _in is null
        ? ReadOnlySequence<byte>.Empty
        : new ReadOnlySequence<byte>(_in, _inStart, _inEnd - _inStart);

    /// <summary>Whether a read would return now: new bytes, the end, or a cancel.</summary>
    private bool InputReadyLocked => _cancelNextRead || _inEnd > _inExamined || _inputEnded;

    /// <summary>The waiting read's waiter if the read can complete now (it is no longer waiting then), else null.</summary>
    private EpollReadWaiter? ReadReadyLocked()
    {
        if (!_readWaiting || !InputReadyLocked)
        {
            return null;
        }

        _readWaiting = false;
        return _readWaiter;
    }

    /// <summary>The reader waiting for input (<see cref="WaitForInput"/>) if it may run now; it is no longer waiting then.</summary>
    private IThreadPoolWorkItem? TakeInputWaiterLocked()
    {
        IThreadPoolWorkItem? waiter = _inputWaiter;
        if (waiter is null || !InputReadyLocked)
        {
            return null;
        }

        _inputWaiter = null;
        return waiter;
    }

    /// <summary>Runs a waiter taken by <see cref="TakeInputWaiterLocked"/>, outside the gate: inline, as the read's continuations run, or on the pool.</summary>
    private void RunInputWaiter(IThreadPoolWorkItem? waiter)
    {
        if (waiter is null)
        {
            return;
        }

        if (_inline)
        {
            waiter.Execute();
        }
        else
        {
            ThreadPool.UnsafeQueueUserWorkItem(waiter, preferLocal: false);
        }
    }

    /// <summary>Completes the read that <see cref="ReadReadyLocked"/> released (its <paramref name="waiter"/>), with what is there now.</summary>
    private void CompleteRead(EpollReadWaiter waiter)
    {
        ReadResult result;
        using (_gate.Enter())
        {
            bool canceled = _cancelNextRead;
            _cancelNextRead = false;
            result = new ReadResult(UnreadLocked(), canceled, _inputEnded);
            _readerHolds = _in is not null;
        }

        waiter.Complete(result);
    }

    /// <summary>Receives until the kernel has nothing more (a short read, or EAGAIN), the peer closed, or enough unread bytes wait.</summary>
    private void ReceiveLocked()
    {
        _receivePaused = false;
        while (!_inputEnded)
        {
            if (_inEnd - _inExamined >= InputPauseThreshold || !EnsureReceiveSpaceLocked())
            {
                _receivePaused = true; // resumed by AdvanceTo or the next read
                return;
            }

            int space = _in!.Length - _inEnd;
            nint received;
            fixed (byte* buffer = &_in[_inEnd])
            {
                received = Libc.recv(_fd, buffer, space, 0);
            }

            if (received > 0)
            {
                _inEnd += (int)received;
                if (received < space && !_peerHungUp)
                {
                    // A short read of a stream socket emptied its receive queue: what arrives later raises a new edge, so
                    // the recv that would only say EAGAIN is saved (it was every other system call of a busy echo).
                    // After a hang-up no edge follows the data, so the end is read now.
                    break;
                }

                continue;
            }

            if (received < 0)
            {
                int error = Libc.LastError;
                if (error == Libc.EINTR)
                {
                    continue;
                }

                if (error == Libc.EAGAIN)
                {
                    break;
                }
            }

            // 0: the peer closed its side; any other error (a reset): the input has ended.
            _inputEnded = true;
        }

        if (_in is not null && _inStart == _inEnd && !_readerHolds)
        {
            ArrayPool<byte>.Shared.Return(_in); // a wake-up that brought nothing keeps no buffer
            _in = null;
            _inStart = _inEnd = _inExamined = 0;
        }
    }

    /// <summary>Makes room at the tail of the input buffer: rents, compacts or grows it. False when it may not move now.</summary>
    private bool EnsureReceiveSpaceLocked()
    {
        if (_in is null)
        {
            _in = ArrayPool<byte>.Shared.Rent(MinimumReceiveSpace);
            _inStart = _inEnd = _inExamined = 0;
            return true;
        }

        if (_in.Length - _inEnd >= MinimumReceiveSpace / 4)
        {
            return true;
        }

        if (_readerHolds)
        {
            return false; // the reader's buffer must not move until it advances
        }

        int unread = _inEnd - _inStart;
        if (_inStart > 0 && _in.Length - unread >= MinimumReceiveSpace)
        {
            _in.AsSpan(_inStart, unread).CopyTo(_in);
        }
        else
        {
            if (_in.Length >= MaximumInputBuffer)
            {
                return false;
            }

            byte[] larger = ArrayPool<byte>.Shared.Rent(_in.Length * 2);
            _in.AsSpan(_inStart, unread).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_in);
            _in = larger;
        }

        _inExamined -= _inStart;
        _inEnd = unread;
        _inStart = 0;
        return true;
    }
}
