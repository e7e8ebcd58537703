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

    /// <summary>Space to receive into: grows the pooled buffer (doubling, capped at <paramref name="maxSize"/>).</summary>
    internal Memory<byte> GetFreeMemory(long maxSize)
    {
        const int InitialSize = 4096;
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(InitialSize);
        }
        else if (_length == _buffer.Length)
        {
            // The decoder has already checked the declared length against maxSize, so growth is bounded by it.
            long target = Math.Min(Math.Max((long)_buffer.Length * 2, InitialSize), Math.Max(maxSize, _length + 1L));
            byte[] larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(target, Array.MaxLength));
            _buffer.AsSpan(0, _length).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }

        return _buffer.AsMemory(_length);
    }

    internal void Advance(int count) => _length += count;
}
