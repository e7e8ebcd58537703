namespace AspNetWebSockets;

/// <summary>
/// permessage-deflate (RFC 7692) settings. Off by default: compressing secrets next to attacker-influenced text in one
/// message lets an attacker learn the secret from message lengths (CRIME/BREACH). Turn it on per server
/// (<see cref="Enabled"/>), per endpoint (<c>.WithCompression()</c>), and skip it per message
/// (<c>SendAsync(data, type, compress: false)</c>).
/// </summary>
/// <remarks>
/// Memory per connection, measured as resident memory per connection over 2,000 compressors that each compressed a
/// 120 KB message (zlib-ng as shipped with .NET 10): with context takeover the server holds a deflate state of about
/// 280 KiB at ServerMaxWindowBits 15 / MemoryLevel 8 (the defaults), 31 KiB at 12/7, 15 KiB at 15/1 and 5.5 KiB at 9/1,
/// for the life of the connection; decompressing holds up to <c>1 &lt;&lt; ClientMaxWindowBits</c> bytes plus about
/// 7 KiB (zlib's own bound). Low-memory mode — <see cref="ServerContextTakeover"/> and <see cref="ClientContextTakeover"/>
/// false — releases both after every message, so idle connections hold nothing, at the cost of a worse ratio for
/// small repetitive messages.
/// </remarks>
public sealed class WebSocketCompressionOptions
{
    /// <summary>Negotiate permessage-deflate when the client offers it. Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>zlib compression level, 1 (fastest) to 9 (smallest). Default 6.</summary>
    public int Level { get; set; } = 6;

    /// <summary>zlib memory level, 1–9: lower uses less memory per connection and compresses a little worse. Default 8.</summary>
    public int MemoryLevel { get; set; } = 8;

    /// <summary>Largest LZ77 window the server compresses with, 9–15 bits (8 is not possible with raw deflate in zlib). Default 15.</summary>
    public int ServerMaxWindowBits { get; set; } = 15;

    /// <summary>Window the server asks clients to compress with, 9–15 bits, when the client allows it to be limited. Default 15.</summary>
    public int ClientMaxWindowBits { get; set; } = 15;

    /// <summary>Keep the compression context between outgoing messages (better ratio, memory held). Default true.</summary>
    public bool ServerContextTakeover { get; set; } = true;

    /// <summary>Let clients keep their compression context between messages (the server then holds an inflate state). Default true.</summary>
    public bool ClientContextTakeover { get; set; } = true;

    /// <summary>Messages shorter than this many bytes are sent uncompressed: they rarely shrink. Default 128.</summary>
    public int MinMessageSize { get; set; } = 128;
}
