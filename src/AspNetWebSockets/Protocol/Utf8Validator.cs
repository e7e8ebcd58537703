using System.Buffers;
using System.Text;

namespace AspNetWebSockets.Protocol;

/// <summary>
/// Incremental UTF-8 validation of a text message delivered in chunks (fragments, TCP reads). It fails
/// as soon as a chunk holds a byte that cannot begin or continue valid UTF-8 — including an invalid prefix
/// of a code point cut at the chunk's end — rather than at the end of the message (RFC 6455 §8.1, Autobahn 6.x).
/// The bulk of each chunk goes through the vectorized <see cref="System.Text.Unicode.Utf8.IsValid"/>; only a
/// code point split across chunks (at most 3 bytes) is carried.
/// </summary>
internal struct Utf8Validator
{
    private uint _carry;      // up to 3 bytes of an incomplete code point, byte 0 in the low bits
    private int _carryLength;

    /// <summary>Forgets any carried bytes, ready for a new message.</summary>
    public void Reset()
    {
        _carry = 0;
        _carryLength = 0;
    }

    /// <summary>Validates the next chunk; <paramref name="endOfMessage"/> makes an incomplete trailing code point invalid.</summary>
    public bool TryValidate(ReadOnlySpan<byte> chunk, bool endOfMessage)
    {
        if (_carryLength > 0)
        {
            // Finish the split code point with the first bytes of this chunk.
            Span<byte> sequence = stackalloc byte[4];
            for (int k = 0; k < _carryLength; k++)
            {
                sequence[k] = (byte)(_carry >> (8 * k));
            }

            int take = Math.Min(4 - _carryLength, chunk.Length);
            chunk[..take].CopyTo(sequence[_carryLength..]);
            OperationStatus status = Rune.DecodeFromUtf8(sequence[..(_carryLength + take)], out _, out int consumed);
            if (status == OperationStatus.InvalidData)
            {
                return false;
            }

            if (status == OperationStatus.NeedMoreData)
            {
                // The whole chunk was a valid continuation of the prefix but it is still incomplete.
                Carry(sequence[..(_carryLength + take)]);
                return !endOfMessage;
            }

            chunk = chunk[(consumed - _carryLength)..];
            Reset();
        }

        int tail = IncompleteTailLength(chunk);
        if (!System.Text.Unicode.Utf8.IsValid(chunk[..^tail]))
        {
            return false;
        }

        if (tail == 0)
        {
            return true;
        }

        ReadOnlySpan<byte> prefix = chunk[^tail..];
        if (endOfMessage || Rune.DecodeFromUtf8(prefix, out _, out _) != OperationStatus.NeedMoreData)
        {
            return false;
        }

        Carry(prefix);
        return true;
    }

    private void Carry(ReadOnlySpan<byte> bytes)
    {
        _carry = 0;
        for (int k = 0; k < bytes.Length; k++)
        {
            _carry |= (uint)bytes[k] << (8 * k);
        }

        _carryLength = bytes.Length;
    }

    /// <summary>
    /// Length of a trailing multi-byte sequence that the chunk ends before completing (0–3). Looks back over at
    /// most three continuation bytes for a lead byte whose sequence would extend past the end.
    /// </summary>
    private static int IncompleteTailLength(ReadOnlySpan<byte> chunk)
    {
        for (int back = 1; back <= 3 && back <= chunk.Length; back++)
        {
            byte b = chunk[^back];
            if ((b & 0xC0) == 0x80)
            {
                continue; // continuation byte: keep looking for the lead
            }

            int expected = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
            return expected > back ? back : 0;
        }

        return 0;
    }
}
