using System.Buffers;
using AspNetWebSockets.Extensions;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets.Compression;

/// <summary>
/// One connection's permessage-deflate (RFC 7692 §7.2): an inflater for received messages and a deflater for sent
/// ones, each with the window and context rule the negotiation gave its direction. Zlib state and buffers are held only
/// while a message is in progress (and between messages only with context takeover).
/// </summary>
internal sealed class PerMessageDeflateSession : IWebSocketExtensionSession
{
    private readonly MessageDeflater _deflater;
    private readonly MessageInflater _inflater;
    private readonly PooledBufferWriter _encoded = new();
    private readonly WebSocketCompressionOptions _options;

    public PerMessageDeflateSession(PerMessageDeflateParameters agreed, WebSocketCompressionOptions options, WebSocketRole role)
    {
        // Each side compresses with its own window and context rule; which is "ours" depends on the role.
        bool server = role == WebSocketRole.Server;
        _options = options;
        _deflater = new MessageDeflater(
            options.Level,
            server ? agreed.ServerWindowBits : agreed.ClientWindowBits,
            options.MemoryLevel,
            contextTakeover: !(server ? agreed.ServerNoContextTakeover : agreed.ClientNoContextTakeover));
        _inflater = new MessageInflater(
            server ? agreed.ClientWindowBits : agreed.ServerWindowBits,
            contextTakeover: !(server ? agreed.ClientNoContextTakeover : agreed.ServerNoContextTakeover));

        // Without context takeover each message is a fresh DEFLATE stream, so its bytes depend only on the settings.
        SharedEncodingKey = _deflater.ContextTakeover ? null : new SharedKey(_deflater.WindowBits, options.Level, options.MemoryLevel, options.MinMessageSize);
    }

    /// <summary>Whether either direction currently holds zlib state (for tests and memory accounting).</summary>
    internal bool HoldsState => _deflater.HoldsState || _inflater.HoldsState;

    internal MessageDeflater Deflater => _deflater;

    internal MessageInflater Inflater => _inflater;

    public bool IsDecoding => _inflater.InMessage;

    public object? SharedEncodingKey { get; }

    public Span<byte> GetDecodeInputSpan() => _inflater.GetInputSpan();

    public void CommitDecodeInput(int count, bool endOfMessage) => _inflater.CommitInput(count, endOfMessage);

    public OperationStatus Decode(Span<byte> destination, out int written)
    {
        InflateStatus status;
        try
        {
            status = _inflater.Inflate(destination, out written);
        }
        catch (ObjectDisposedException)
        {
            written = 0;
            return OperationStatus.NeedMoreData; // torn down meanwhile: the driver reports the close
        }

        return status switch
        {
            InflateStatus.MessageComplete => OperationStatus.Done,
            InflateStatus.InvalidData => OperationStatus.InvalidData,
            _ => OperationStatus.NeedMoreData,
        };
    }

    public bool TryEncode(ReadOnlySpan<byte> payload, out ReadOnlyMemory<byte> encoded)
    {
        if (payload.Length < _options.MinMessageSize)
        {
            encoded = default;
            return false;
        }

        _deflater.Compress(payload, _encoded);
        encoded = _encoded.WrittenMemory;
        return true;
    }

    public void ReleaseEncoded() => _encoded.Dispose(); // returns the pooled buffer so idle connections hold none

    public bool TryEncodeShared(ReadOnlySpan<byte> payload, IBufferWriter<byte> output)
    {
        if (SharedEncodingKey is null || payload.Length < _options.MinMessageSize)
        {
            return false;
        }

        using var deflater = new MessageDeflater(_options.Level, _deflater.WindowBits, _options.MemoryLevel, contextTakeover: false);
        using var compressed = new PooledBufferWriter();
        deflater.Compress(payload, compressed);
        output.Write(compressed.WrittenSpan);
        return true;
    }

    public void Dispose()
    {
        // Releases native zlib memory; safe against a compress or inflate in flight on another thread.
        _deflater.Dispose();
        _inflater.Dispose();
    }

    /// <summary>What makes two sessions' per-message encodings identical.</summary>
    private sealed record SharedKey(int WindowBits, int Level, int MemoryLevel, int MinMessageSize);
}
