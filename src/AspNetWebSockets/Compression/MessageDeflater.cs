using System.Buffers;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets.Compression;

/// <summary>
/// Compresses whole messages for permessage-deflate (RFC 7692 §7.2.1): raw DEFLATE, flushed with Z_SYNC_FLUSH, the
/// trailing <c>00 00 FF FF</c> removed. With context takeover one zlib state serves every message; without it the
/// state is released after each message, so an idle connection holds no compression memory at all.
/// Not thread-safe: the connection's message lock serializes messages.
/// </summary>
internal sealed unsafe class MessageDeflater : IDisposable
{
    private static readonly byte[] Trailer = [0x00, 0x00, 0xFF, 0xFF];

    private readonly int _level;
    private readonly int _windowBits;
    private readonly int _memoryLevel;
    private readonly bool _contextTakeover;
    private readonly Lock _gate = new();
    private ZLibNative.ZStream _stream;
    private bool _initialized;
    private bool _disposed;

    public MessageDeflater(int level, int windowBits, int memoryLevel, bool contextTakeover)
    {
        _level = level;
        _windowBits = windowBits;
        _memoryLevel = memoryLevel;
        _contextTakeover = contextTakeover;
    }

    /// <summary>The LZ77 window this compressor uses.</summary>
    public int WindowBits => _windowBits;

    /// <summary>Whether the compression context is kept between messages.</summary>
    public bool ContextTakeover => _contextTakeover;

    /// <summary>Whether a zlib state is currently allocated (for tests and memory accounting).</summary>
    public bool HoldsState => _initialized;

    /// <summary>Compresses one message into <paramref name="output"/>, without the trailer.</summary>
    /// <remarks>Locked against <see cref="Dispose"/>, which may come from another thread when the connection is torn down.</remarks>
    public void Compress(ReadOnlySpan<byte> message, PooledBufferWriter output)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            CompressCore(message, output);
        }
    }

    private void CompressCore(ReadOnlySpan<byte> message, PooledBufferWriter output)
    {
        if (!_initialized)
        {
            int rc = ZLibNative.DeflateInit2(ref _stream, _level, ZLibNative.Deflated, -_windowBits, _memoryLevel, ZLibNative.DefaultStrategy);
            if (rc != ZLibNative.Ok)
            {
                throw new InvalidOperationException($"deflateInit2 failed ({rc}).");
            }

            _initialized = true;
        }

        int start = output.WrittenCount;
        fixed (byte* input = message)
        {
            _stream.NextIn = (nint)input;
            _stream.AvailIn = (uint)message.Length;
            while (true)
            {
                // Deflate's worst case is a few bytes per 16 KiB block over the input; ask for room accordingly.
                Span<byte> space = output.GetSpan(Math.Max(64, (int)Math.Min(_stream.AvailIn + 64L, 64 * 1024)));
                fixed (byte* target = space)
                {
                    _stream.NextOut = (nint)target;
                    _stream.AvailOut = (uint)space.Length;
                    int rc = ZLibNative.Deflate(ref _stream, ZLibNative.SyncFlush);
                    if (rc != ZLibNative.Ok && rc != ZLibNative.BufError)
                    {
                        throw new InvalidOperationException($"deflate failed ({rc}).");
                    }

                    output.Advance(space.Length - (int)_stream.AvailOut);
                }

                // Done when all input is consumed and the flush fitted (zlib left room in the output).
                if (_stream.AvailIn == 0 && _stream.AvailOut != 0)
                {
                    break;
                }
            }

            _stream.NextIn = 0;
            _stream.NextOut = 0;
        }

        if (output.WrittenSpan[start..].EndsWith(Trailer))
        {
            output.Shrink(Trailer.Length);
        }
        else if (output.WrittenCount == start)
        {
            // An empty message right after a flushed one: zlib has nothing to flush and emits nothing, not even the
            // empty stored block. RFC 7692 §7.2.1 says to append that block (00 00 00 FF FF at a byte boundary) and
            // strip the 00 00 FF FF, which leaves one 0x00. An empty payload would be wrong: the receiver's appended
            // 00 00 FF FF alone is an unfinished stored block, which corrupts every later message (found by fuzzing).
            output.GetSpan(1)[0] = 0x00;
            output.Advance(1);
        }

        if (!_contextTakeover)
        {
            Release();
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            Release();
        }
    }

    private void Release()
    {
        if (_initialized)
        {
            ZLibNative.DeflateEnd(ref _stream);
            _stream = default;
            _initialized = false;
        }
    }
}
