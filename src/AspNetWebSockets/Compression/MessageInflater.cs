using System.Buffers;

namespace AspNetWebSockets.Compression;

/// <summary>What one <see cref="MessageInflater.Inflate"/> call did.</summary>
internal enum InflateStatus : byte
{
    /// <summary>Output was produced, or more compressed input is needed before any can be.</summary>
    Progress,

    /// <summary>The whole message has been inflated; the inflater is ready for the next one.</summary>
    MessageComplete,

    /// <summary>The compressed data is corrupt.</summary>
    InvalidData,
}

/// <summary>
/// Decompresses permessage-deflate messages incrementally into the caller's buffer (RFC 7692 §7.2.2). Compressed
/// bytes are staged in a small pooled input buffer that the frame decoder writes into; output never goes anywhere
/// but the caller's buffer, so the message-size limit is enforced on decompressed bytes as they appear and a
/// decompression bomb costs no more memory than that buffer. The input buffer is held only while a message is in
/// progress; without context takeover the zlib state is released after each message too.
/// </summary>
internal sealed unsafe class MessageInflater : IDisposable
{
    private const int InputBufferSize = 16 * 1024;

    private readonly int _windowBits;
    private readonly bool _contextTakeover;
    private readonly Lock _gate = new();
    private ZLibNative.ZStream _stream;
    private bool _initialized;
    private bool _disposed;
    private byte[]? _input;
    private int _inputStart;
    private int _inputEnd;
    private bool _inputComplete;
    private bool _trailerAdded;
    private bool _streamEnded; // the peer's DEFLATE stream hit its final block within the current message

    public MessageInflater(int windowBits, bool contextTakeover)
    {
        _windowBits = windowBits;
        _contextTakeover = contextTakeover;
    }

    /// <summary>Whether a zlib state is currently allocated.</summary>
    public bool HoldsState => _initialized;

    /// <summary>Whether a compressed message is being inflated (input staged or output still to come).</summary>
    public bool InMessage { get; private set; }

    /// <summary>Free space for the next compressed bytes of the current message.</summary>
    public Span<byte> GetInputSpan()
    {
        if (_disposed)
        {
            return Span<byte>.Empty;
        }

        _input ??= ArrayPool<byte>.Shared.Rent(InputBufferSize);
        if (_inputStart > 0)
        {
            // Compact so the free space is contiguous; at most one buffer's worth is ever staged.
            _input.AsSpan(_inputStart, _inputEnd - _inputStart).CopyTo(_input);
            _inputEnd -= _inputStart;
            _inputStart = 0;
        }

        return _input.AsSpan(_inputEnd, _input.Length - _inputEnd - 4); // room kept for the trailer
    }

    /// <summary>Accepts <paramref name="count"/> bytes written into <see cref="GetInputSpan"/>; <paramref name="endOfMessage"/> marks the last.</summary>
    public void CommitInput(int count, bool endOfMessage)
    {
        _inputEnd += count;
        _inputComplete |= endOfMessage;
        InMessage = true;
    }

    /// <summary>
    /// Inflates staged input into <paramref name="output"/>. Returns how many bytes were written; 0 with
    /// <see cref="InflateStatus.Progress"/> means more input is needed.
    /// </summary>
    /// <remarks>Locked against <see cref="Dispose"/>, which may come from another thread when the connection is torn down.</remarks>
    public InflateStatus Inflate(Span<byte> output, out int written)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return InflateCore(output, out written);
        }
    }

    private InflateStatus InflateCore(Span<byte> output, out int written)
    {
        written = 0;
        if (!_initialized)
        {
            if (ZLibNative.InflateInit2(ref _stream, -_windowBits) != ZLibNative.Ok)
            {
                throw new InvalidOperationException("inflateInit2 failed.");
            }

            _initialized = true;
        }

        while (true)
        {
            if (_streamEnded && !_trailerAdded && _inputStart != _inputEnd)
            {
                Reset();
                return InflateStatus.InvalidData; // more of the message after its final block
            }

            if (_inputComplete && !_trailerAdded && _inputStart == _inputEnd)
            {
                // RFC 7692 §7.2.2: append 00 00 FF FF to the message's payload before the last inflate — unless the
                // stream already ended in this message, when there is nothing left to flush.
                if (!_streamEnded)
                {
                    _input ??= ArrayPool<byte>.Shared.Rent(InputBufferSize);
                    _input[0] = 0x00;
                    _input[1] = 0x00;
                    _input[2] = 0xFF;
                    _input[3] = 0xFF;
                    _inputStart = 0;
                    _inputEnd = 4;
                }

                _trailerAdded = true;
            }

            int available = _inputEnd - _inputStart;
            int produced;
            int rc;
            fixed (byte* input = _input)
            fixed (byte* target = output[written..])
            {
                _stream.NextIn = (nint)(input + _inputStart);
                _stream.AvailIn = (uint)available;
                _stream.NextOut = (nint)target;
                _stream.AvailOut = (uint)(output.Length - written);
                rc = ZLibNative.Inflate(ref _stream, ZLibNative.SyncFlush);
                _inputStart += available - (int)_stream.AvailIn;
                produced = output.Length - written - (int)_stream.AvailOut;
                _stream.NextIn = 0;
                _stream.NextOut = 0;
            }

            written += produced;
            if (rc == ZLibNative.StreamEnd)
            {
                // The peer ended its DEFLATE stream (BFINAL): later messages start a fresh one.
                ZLibNative.InflateReset2(ref _stream, -_windowBits);
                if (_inputStart != _inputEnd && !_trailerAdded)
                {
                    Reset();
                    return InflateStatus.InvalidData; // data after the final block
                }

                // Whatever is left is (part of) the 00 00 FF FF we appended, which a finished stream does not need; and
                // the message must not get that trailer later either. Fed to the fresh stream, it opens a stored block
                // that swallows the next message: a BFINAL message followed by another one failed with context
                // takeover (found by fuzzing).
                _inputStart = _inputEnd;
                _streamEnded = true;
            }
            else if (rc != ZLibNative.Ok && rc != ZLibNative.BufError)
            {
                Reset();
                return InflateStatus.InvalidData;
            }

            bool inputDrained = _inputStart == _inputEnd;
            if (_trailerAdded && inputDrained && written < output.Length)
            {
                // The trailer is consumed and zlib had room left over: nothing more is pending.
                EndMessage();
                return InflateStatus.MessageComplete;
            }

            if (written == output.Length || !inputDrained)
            {
                return InflateStatus.Progress; // output full (or zlib wants output room): the caller comes back
            }

            if (!_inputComplete || _trailerAdded)
            {
                return InflateStatus.Progress; // needs more compressed input
            }

            // All of the message's input is in and consumed: go round once more with the trailer.
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            Reset();
        }
    }

    private void EndMessage()
    {
        InMessage = false;
        _inputStart = _inputEnd = 0;
        _inputComplete = false;
        _trailerAdded = false;
        _streamEnded = false;
        if (_input is not null)
        {
            ArrayPool<byte>.Shared.Return(_input);
            _input = null;
        }

        if (!_contextTakeover)
        {
            Release();
        }
    }

    private void Reset()
    {
        EndMessage();
        Release();
    }

    private void Release()
    {
        if (_initialized)
        {
            ZLibNative.InflateEnd(ref _stream);
            _stream = default;
            _initialized = false;
        }
    }
}
