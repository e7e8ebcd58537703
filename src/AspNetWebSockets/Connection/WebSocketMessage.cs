using System.Buffers;
using System.Net.WebSockets;
using System.Text;

namespace AspNetWebSockets;

/// <summary>
/// A whole received message whose bytes live in a pooled buffer. Dispose it to return the buffer; a message
/// obtained from <see cref="WebSocketConnection.ReadAllAsync"/> is recycled automatically when the loop moves on,
/// so copy what you need to keep (e.g. with <see cref="ToArray"/>) before the next iteration.
/// </summary>
public sealed class WebSocketMessage : IDisposable
{
    private byte[]? _buffer;
    private int _length;

    internal WebSocketMessage()
    {
    }

    /// <summary>Text or binary.</summary>
    public WebSocketMessageType Type { get; internal set; }

    /// <summary>True for a text message (its bytes are valid UTF-8).</summary>
    public bool IsText => Type == WebSocketMessageType.Text;

    /// <summary>The payload bytes. Valid until the message is disposed or recycled.</summary>
    public ReadOnlyMemory<byte> Data => _buffer is null ? ReadOnlyMemory<byte>.Empty : _buffer.AsMemory(0, _length);

    /// <summary>The payload length in bytes.</summary>
    public int Length => _length;

    /// <summary>Decodes the payload as UTF-8 (allocates a string).</summary>
    /// <returns>The text of the message.</returns>
    public string GetText() => Encoding.UTF8.GetString(Data.Span);

    /// <summary>Copies the payload into a new array that outlives the message.</summary>
    /// <returns>A copy of the payload.</returns>
    public byte[] ToArray() => Data.ToArray();

    /// <summary>Returns the text for text messages, and a length summary for binary ones.</summary>
    /// <returns>A display string.</returns>
    public override string ToString() => IsText ? GetText() : $"binary message, {_length} bytes";

    /// <summary>Returns the pooled buffer. Safe to call more than once.</summary>
    public void Dispose()
    {
        byte[]? buffer = _buffer;
        _buffer = null;
        _length = 0;
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Starts a new message, keeping the current buffer if there is one.</summary>
    internal void Reset() => _length = 0;

    /// <summary>Returns the buffer to the pool while no message is being received, so an idle connection holds none.</summary>
    internal void ReleaseBuffer() => Dispose();

    /// <summary>Whether the next receive needs a new or larger buffer (see <see cref="GetFreeMemory"/>).</summary>
    internal bool IsFull => _buffer is null || _length == _buffer.Length;

    /// <summary>
    /// Space to receive into. When the buffer is missing or full it is rented, or grown to at least double, and to room
    /// for <paramref name="sizeHint"/> more bytes, capped at <paramref name="maxSize"/>. The hint lets a message whose
    /// bytes have already arrived get its buffer in one step instead of doubling from 4 KiB with a copy each time;
    /// callers pass only bytes that are in the input, never a declared length alone, so a peer cannot make us reserve
    /// memory it has not sent.
    /// </summary>
    internal Memory<byte> GetFreeMemory(long maxSize, long sizeHint = 0)
    {
        const int InitialSize = 4096;
        if (IsFull)
        {
            // The decoder has already checked declared lengths against maxSize, so growth is bounded by it.
            long doubled = Math.Max((long)(_buffer?.Length ?? 0) * 2, InitialSize);
            long target = Math.Min(Math.Max(doubled, _length + sizeHint), Math.Max(maxSize, _length + 1L));
            byte[] larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(target, Array.MaxLength));
            if (_buffer is not null)
            {
                _buffer.AsSpan(0, _length).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(_buffer);
            }

            _buffer = larger;
        }

        return _buffer.AsMemory(_length);
    }

    internal void Advance(int count) => _length += count;
}
