using System.Buffers;
using Microsoft.Extensions.Primitives;

namespace AspNetWebSockets.Handshake;

/// <summary>Linear-time parsing of comma-separated header lists (Upgrade, Connection, Sec-WebSocket-Protocol).</summary>
/// <remarks>
/// Hand-written single forward scans instead of <c>Split</c>/<c>Trim</c>/regex: ws CVE-2021-32640 was a quadratic
/// <c>split(/ *, */)</c> on a header of spaces (ADVISORIES #1). Every loop here advances the index, so the cost is
/// O(total header length), and nothing throws on odd input (null entries, lone commas, control characters).
/// </remarks>
internal static class HeaderTokens
{
    // RFC 7230 §3.2.6: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    private static readonly SearchValues<char> s_tokenChars =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    /// <summary>True if <paramref name="c"/> is an RFC 7230 <c>tchar</c>.</summary>
    public static bool IsTokenChar(char c) => s_tokenChars.Contains(c);

    /// <summary>True if <paramref name="value"/> is a non-empty RFC 7230 token.</summary>
    public static bool IsToken(ReadOnlySpan<char> value) => !value.IsEmpty && !value.ContainsAnyExcept(s_tokenChars);

    /// <summary>True if <paramref name="c"/> is optional whitespace (RFC 7230 OWS: SP or HTAB).</summary>
    public static bool IsOws(char c) => c is ' ' or '\t';

    /// <summary>Trims RFC 7230 OWS (SP/HTAB) from both ends; unlike <see cref="MemoryExtensions.Trim(ReadOnlySpan{char})"/> it
    /// leaves other Unicode whitespace in place, so it can't make an invalid value look valid.</summary>
    public static ReadOnlySpan<char> TrimOws(ReadOnlySpan<char> value) => value.Trim(" \t");

    /// <summary>
    /// True if any element of the comma lists in <paramref name="values"/> equals <paramref name="token"/>
    /// (OrdinalIgnoreCase), ignoring OWS around elements. Never throws.
    /// </summary>
    /// <remarks>Elements are compared whole, so <c>upgradex</c> does not contain <c>upgrade</c>.</remarks>
    public static bool Contains(StringValues values, string token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return false;
        }

        for (int v = 0; v < values.Count; v++)
        {
            ReadOnlySpan<char> rest = values[v];
            while (true)
            {
                int comma = rest.IndexOf(',');
                ReadOnlySpan<char> element = comma < 0 ? rest : rest[..comma];
                if (TrimOws(element).Equals(token, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }

                if (comma < 0)
                {
                    break;
                }

                rest = rest[(comma + 1)..];
            }
        }

        return false;
    }

    /// <summary>
    /// Parses RFC 7230 <c>#token</c> lists: tokens separated by commas with OWS around them; empty elements are
    /// ignored, as RFC 7230 §7 asks recipients to do. Parsed tokens are appended to <paramref name="tokens"/>
    /// (pass null to only validate).
    /// </summary>
    /// <param name="values">The header's values, one per header line; null entries count as empty.</param>
    /// <param name="maxLength">Cap on the summed length of all values, checked before any parsing.</param>
    /// <param name="tokens">Receives the tokens in header order; left unchanged when the method returns false.</param>
    /// <returns>False on any non-token character (including whitespace inside an element) or when over the cap.</returns>
    public static bool TryParseTokenList(StringValues values, int maxLength, List<string>? tokens)
    {
        if (TotalLength(values) > maxLength)
        {
            // Reject before scanning: the cap is what bounds the work (ADVISORIES #1).
            return false;
        }

        int originalCount = tokens?.Count ?? 0;
        for (int v = 0; v < values.Count; v++)
        {
            string? value = values[v];
            if (value is not null && !TryParseOne(value, tokens))
            {
                // Don't leave a half-parsed list behind for a caller that ignores the return value.
                tokens?.RemoveRange(originalCount, tokens.Count - originalCount);
                return false;
            }
        }

        return true;
    }

    /// <summary>Sums the lengths of all values as a long, so a huge number of huge values cannot overflow.</summary>
    internal static long TotalLength(StringValues values)
    {
        long total = 0;
        for (int v = 0; v < values.Count; v++)
        {
            total += values[v]?.Length ?? 0;
        }

        return total;
    }

    private static bool TryParseOne(string value, List<string>? tokens)
    {
        int i = 0;
        while (true)
        {
            i = SkipOws(value, i);
            if (i == value.Length)
            {
                return true;
            }

            if (value[i] == ',')
            {
                i++; // empty element
                continue;
            }

            int length = value.AsSpan(i).IndexOfAnyExcept(s_tokenChars);
            if (length < 0)
            {
                length = value.Length - i;
            }

            if (length == 0)
            {
                return false; // a character that is neither OWS, comma nor tchar
            }

            tokens?.Add(value.Substring(i, length));
            i = SkipOws(value, i + length);
            if (i == value.Length)
            {
                return true;
            }

            if (value[i] != ',')
            {
                return false; // e.g. "a b": whitespace inside an element
            }

            i++;
        }
    }

    /// <summary>Returns the index of the first non-OWS character at or after <paramref name="i"/>.</summary>
    internal static int SkipOws(string value, int i)
    {
        while (i < value.Length && IsOws(value[i]))
        {
            i++;
        }

        return i;
    }
}
