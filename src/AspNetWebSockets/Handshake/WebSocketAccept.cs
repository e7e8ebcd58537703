using System.Security.Cryptography;

namespace AspNetWebSockets.Handshake;

/// <summary>Computes the Sec-WebSocket-Accept value (RFC 6455 §4.2.2 step 5.4) and generates client keys.</summary>
internal static class WebSocketAccept
{
    /// <summary>The length of a Sec-WebSocket-Accept value: base64 of a 20-byte SHA-1 hash.</summary>
    public const int Length = 28;

    /// <summary>The length of a valid Sec-WebSocket-Key: base64 of 16 bytes.</summary>
    public const int KeyLength = 24;

    // RFC 6455 §1.3: the GUID appended to the key before hashing, as ASCII bytes (a u8 literal lives in the
    // assembly's data, so reading it allocates nothing).
    private static ReadOnlySpan<byte> Guid => "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"u8;

    /// <summary>
    /// Writes base64(SHA1(key + GUID)) into <paramref name="destination"/> without heap allocation.
    /// </summary>
    /// <remarks>
    /// Leading and trailing SP/HTAB are ignored: RFC 6455 §4.2.2 hashes the key "minus any leading and trailing
    /// whitespace", and the validator accepts such padding, so the two must agree. The key is not otherwise
    /// validated here (that is <see cref="HandshakeValidator"/>'s job); the bound keeps the stack buffer fixed.
    /// </remarks>
    /// <returns>
    /// False if the trimmed key is longer than <see cref="KeyLength"/> characters, contains non-ASCII characters,
    /// or <paramref name="destination"/> is shorter than <see cref="Length"/>.
    /// </returns>
    public static bool TryCompute(ReadOnlySpan<char> key, Span<char> destination, out int charsWritten)
    {
        charsWritten = 0;
        key = HeaderTokens.TrimOws(key);
        if (key.Length > KeyLength || destination.Length < Length)
        {
            return false;
        }

        Span<byte> input = stackalloc byte[KeyLength + 36];
        for (int i = 0; i < key.Length; i++)
        {
            char c = key[i];
            if (c > 0x7F)
            {
                return false; // Encoding.ASCII would silently turn this into '?', hashing a different key
            }

            input[i] = (byte)c;
        }

        Guid.CopyTo(input[key.Length..]);
        Span<byte> hash = stackalloc byte[SHA1.HashSizeInBytes];
        // SHA-1 is fixed by RFC 6455; the accept value proves the server understood the handshake, it is not a
        // security boundary, so the weak-algorithm warning does not apply.
#pragma warning disable CA5350
        SHA1.HashData(input[..(key.Length + Guid.Length)], hash);
#pragma warning restore CA5350
        return Convert.TryToBase64Chars(hash, destination, out charsWritten);
    }

    /// <summary>Computes the Sec-WebSocket-Accept value; allocates only the returned string.</summary>
    /// <exception cref="ArgumentException">The key is longer than 24 characters (after trimming OWS) or not ASCII.</exception>
    public static string Compute(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        Span<char> buffer = stackalloc char[Length];
        if (!TryCompute(key, buffer, out int written))
        {
            throw new ArgumentException("A Sec-WebSocket-Key is at most 24 ASCII characters.", nameof(key));
        }

        return new string(buffer[..written]);
    }

    /// <summary>Client side: a fresh random 16-byte key, base64-encoded (24 characters), as RFC 6455 §4.1 requires.</summary>
    public static string CreateClientKey()
    {
        Span<byte> nonce = stackalloc byte[16];
        RandomNumberGenerator.Fill(nonce);
        return Convert.ToBase64String(nonce);
    }
}
