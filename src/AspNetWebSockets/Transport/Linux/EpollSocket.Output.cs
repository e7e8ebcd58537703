using System.Buffers;
using System.IO.Pipelines;

namespace AspNetWebSockets.Transport.Linux;

/// <summary>The output side: the <see cref="PipeWriter"/> contract, and sends that try the kernel first.</summary>
internal sealed unsafe partial class EpollSocket
{
    private const int MinimumWriteBuffer = 4096;

    /// <summary>Bytes written (advanced) and not flushed yet.</summary>
    /// <remarks>
    /// Read without the gate (it is asked for on every corked send, see <see cref="OutputCork"/>): the writer asks, and only
    /// the writer moves the two positions apart. Other threads only reset them together — when all was sent, which cannot
    /// happen while the writer has unflushed bytes, or when a failure or a close drops the buffer, after which the value
    /// no longer matters (the next flush reports the failure).
    /// </remarks>
    public long UnflushedBytes => Volatile.Read(ref _outEnd) - Volatile.Read(ref _outFlushed);

    /// <summary>Memory to write at least <paramref name="sizeHint"/> bytes into, at the tail of the output queue.</summary>
    public Memory<byte> GetMemory(int sizeHint)
    {
        using (_gate.Enter())
        {
            int needed = Math.Max(sizeHint, 1);
            if (_out is null)
            {
                _out = ArrayPool<byte>.Shared.Rent(Math.Max(needed, MinimumWriteBuffer));
                _outStart = _outEnd = _outFlushed = 0;
            }
            else if (_out.Length - _outEnd < needed)
            {
                // Sends copy out of the buffer under the lock, so it may move here.
                int queued = _outEnd - _outStart;
                byte[] target = _out.Length - queued >= needed && _outStart > 0 ? _out : ArrayPool<byte>.Shared.Rent(Math.Max(queued + needed, _out.Length * 2));
                _out.AsSpan(_outStart, queued).CopyTo(target);
                if (!ReferenceEquals(target, _out))
                {
                    ArrayPool<byte>.Shared.Return(_out);
                    _out = target;
                }

                _outFlushed -= _outStart;
                _outEnd = queued;
                _outStart = 0;
            }

            _writerHolds = true;
            return _out.AsMemory(_outEnd);
        }
    }

    /// <summary>Appends the <paramref name="count"/> bytes written into the last <see cref="GetMemory"/>.</summary>
    public void Advance(int count)
    {
        using (_gate.Enter())
        {
            if (_out is null || count < 0 || _outEnd + count > _out.Length)
            {
                throw new InvalidOperationException("Advance past the memory that was handed out.");
            }

            _outEnd += count;
            _writerHolds = false;
        }
    }

    /// <summary>
    /// Sends what was written, on this thread, as far as the kernel takes it; the rest waits for <c>EPOLLOUT</c>. Waits
    /// only while more than <see cref="OutputPauseThreshold"/> bytes are queued. <see cref="FlushResult.IsCompleted"/>
    /// once the connection can no longer send.
    /// </summary>
    public ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken)
    {
        using (_gate.Enter())
        {
            _writerHolds = false;
            if (_outputFailed)
            {
                ReleaseBuffersLocked();
                return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: true));
            }

            _outFlushed = _outEnd;
            if (!_sendBlocked)
            {
                _ = SendLocked();
            }

            if (_outputFailed || _outFlushed - _outStart <= OutputPauseThreshold)
            {
                return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: _outputFailed));
            }

            if (_flushWaiting)
            {
                throw new InvalidOperationException("Only one flush may be pending at a time.");
            }

            _flushWaiting = true;
            _flushWaiter ??= new EpollFlushWaiter(_inline);
            return _flushWaiter.Start(cancellationToken, static (state, token) => ((EpollSocket)state!).CancelFlush(token), this);
        }
    }

    /// <summary>Makes a waiting flush return at once with <see cref="FlushResult.IsCanceled"/>.</summary>
    public void CancelPendingFlush()
    {
        using (_gate.Enter())
        {
            if (!_flushWaiting)
            {
                return;
            }

            _flushWaiting = false;
        }

        _flushWaiter!.Complete(new FlushResult(isCanceled: true, isCompleted: false));
    }

    /// <summary>Completes when everything flushed so far has been handed to the kernel (or the connection failed).</summary>
    public Task WaitUntilSentAsync()
    {
        using (_gate.Enter())
        {
            if (_outputFailed || _outStart == _outFlushed)
            {
                return Task.CompletedTask;
            }

            _sent ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _sent.Task;
        }
    }

    private void CancelFlush(CancellationToken token)
    {
        using (_gate.Enter())
        {
            if (!_flushWaiting)
            {
                return;
            }

            _flushWaiting = false;
        }

        _flushWaiter!.Cancel(token);
    }

    /// <summary>
    /// Sends the flushed bytes until done or <c>EAGAIN</c> (then waits for <c>EPOLLOUT</c>). Returns whether a waiting
    /// flush may complete now.
    /// </summary>
    private bool SendLocked()
    {
        while (_outStart < _outFlushed)
        {
            nint sent;
            fixed (byte* buffer = &_out![_outStart])
            {
                sent = Libc.send(_fd, buffer, _outFlushed - _outStart, Libc.MSG_NOSIGNAL);
            }

            if (sent >= 0)
            {
                _outStart += (int)sent;
                continue;
            }

            int error = Libc.LastError;
            if (error == Libc.EINTR)
            {
                continue;
            }

            if (error == Libc.EAGAIN)
            {
                if (!_sendBlocked)
                {
                    _sendBlocked = true;
                    _loop.Modify(_fd, _slot, Libc.EPOLLIN | Libc.EPOLLRDHUP | Libc.EPOLLOUT);
                }

                return _flushWaiting && _outFlushed - _outStart <= OutputResumeThreshold && Release(ref _flushWaiting);
            }

            // The peer reset or went away: nothing queued can be delivered any more.
            _outputFailed = true;
            _outStart = _outFlushed = _outEnd;
            break;
        }

        if (_sendBlocked)
        {
            _sendBlocked = false;
            if (!_closed)
            {
                _loop.Modify(_fd, _slot, Libc.EPOLLIN | Libc.EPOLLRDHUP);
            }
        }

        if (_outStart == _outEnd && !_writerHolds && _out is not null)
        {
            ArrayPool<byte>.Shared.Return(_out); // all sent: an idle connection holds no send buffer
            _out = null;
            _outStart = _outEnd = _outFlushed = 0;
        }

        _sent?.TrySetResult();
        _sent = null;
        return Release(ref _flushWaiting);

        static bool Release(ref bool waiting)
        {
            bool was = waiting;
            waiting = false;
            return was;
        }
    }

    private void CompleteFlush() => _flushWaiter!.Complete(new FlushResult(isCanceled: false, isCompleted: Volatile.Read(ref _outputFailed)));
}
