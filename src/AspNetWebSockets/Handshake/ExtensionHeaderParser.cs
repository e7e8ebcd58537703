using System.Text;
using Microsoft.Extensions.Primitives;

namespace AspNetWebSockets.Handshake;

/// <summary>
/// Hand-written, linear, non-backtracking parser for RFC 6455 §9.1 extension lists:
/// <c>extension-list = 1#extension; extension = token *( ";" param ); param = token [ "=" (token / quoted-string) ]</c>.
/// </summary>
/// <remarks>
/// Regex-based parsers of this header backtracked exponentially on an unclosed quoted string of backslash pairs
/// (websocket-extensions CVE-2020-7662/7663, ADVISORIES #2). This is a single forward scan: every step consumes at
/// least one character or ends the parse, so the cost is O(header length), and the length cap bounds it.
/// OWS is allowed around <c>,</c>, <c>;</c> and <c>=</c> (RFC 6455 inherits implied linear whitespace from RFC 2616).
/// </remarks>
internal static class ExtensionHeaderParser
{
    /// <summary>
    /// Parses all values of the header (in order, across header lines) and appends one <see cref="ExtensionOffer"/> per
    /// extension to <paramref name="offers"/>. Never throws.
    /// </summary>
    /// <returns>
    /// False for syntax errors — unclosed quotes, a backslash escape at the end, empty names, non-token characters,
    /// a quoted value that does not unescape to a token (RFC 6455 §9.1 MUST) — or when the summed length exceeds
    /// <paramref name="maxLength"/>. On false, <paramref name="offers"/> is left as it was.
    /// Duplicate parameters are not a syntax error; they are kept so the extension can decline the offer.
    /// </returns>
    public static bool TryParse(StringValues values, int maxLength, List<ExtensionOffer> offers)
    {
        ArgumentNullException.ThrowIfNull(offers);
        int originalCount = offers.Count;
        if (!Parse(values, maxLength, offers))
        {
            offers.RemoveRange(originalCount, offers.Count - originalCount);
            return false;
        }

        return true;
    }

    /// <summary>Checks the syntax exactly like <see cref="TryParse"/> without allocating any offers.</summary>
    public static bool IsValid(StringValues values, int maxLength) => Parse(values, maxLength, offers: null);

    private static bool Parse(StringValues values, int maxLength, List<ExtensionOffer>? offers)
    {
        if (HeaderTokens.TotalLength(values) > maxLength)
        {
            return false;
        }

        for (int v = 0; v < values.Count; v++)
        {
            string? value = values[v];
            if (value is not null && !ParseOne(value, offers))
            {
                return false;
            }
        }

        return true;
    }

    private static bool ParseOne(string value, List<ExtensionOffer>? offers)
    {
        int i = 0;
        while (true)
        {
            i = HeaderTokens.SkipOws(value, i);
            if (i == value.Length)
            {
                return true;
            }

            if (value[i] == ',')
            {
                i++; // empty list element, ignored per RFC 7230 §7
                continue;
            }

            if (!TryReadToken(value, ref i, out int nameStart, out int nameLength))
            {
                return false; // empty name, e.g. ";constructor" or a stray non-token character
            }

            List<KeyValuePair<string, string?>>? parameters = null;
            i = HeaderTokens.SkipOws(value, i);
            while (i < value.Length && value[i] == ';')
            {
                i = HeaderTokens.SkipOws(value, i + 1);
                if (!TryReadToken(value, ref i, out int paramStart, out int paramLength))
                {
                    return false; // "a;" or "a; =1"
                }

                string? paramValue = null;
                i = HeaderTokens.SkipOws(value, i);
                if (i < value.Length && value[i] == '=')
                {
                    i = HeaderTokens.SkipOws(value, i + 1);
                    if (i < value.Length && value[i] == '"')
                    {
                        if (!TryReadQuotedToken(value, ref i, materialize: offers is not null, out paramValue))
                        {
                            return false;
                        }
                    }
                    else if (TryReadToken(value, ref i, out int valueStart, out int valueLength))
                    {
                        paramValue = offers is null ? null : value.Substring(valueStart, valueLength);
                    }
                    else
                    {
                        return false; // "a; b=" or "a; b=,"
                    }

                    i = HeaderTokens.SkipOws(value, i);
                }

                if (offers is not null)
                {
                    parameters ??= [];
                    parameters.Add(new(value.Substring(paramStart, paramLength), paramValue));
                }
            }

            if (i < value.Length)
            {
                if (value[i] != ',')
                {
                    return false; // e.g. "a b" or "a; b=c d"
                }

                i++;
            }

            offers?.Add(new ExtensionOffer(
                value.Substring(nameStart, nameLength),
                (IReadOnlyList<KeyValuePair<string, string?>>?)parameters ?? []));
        }
    }

    /// <summary>Reads a non-empty run of tchars at <paramref name="i"/>; false (index unchanged) if there is none.</summary>
    private static bool TryReadToken(string value, ref int i, out int start, out int length)
    {
        start = i;
        while (i < value.Length && HeaderTokens.IsTokenChar(value[i]))
        {
            i++;
        }

        length = i - start;
        return length > 0;
    }

    /// <summary>
    /// Reads an RFC 7230 quoted-string starting at the opening quote and checks that its unescaped content is a token,
    /// as RFC 6455 §9.1 requires. Each character is looked at once; there is no backtracking.
    /// </summary>
    private static bool TryReadQuotedToken(string value, ref int i, bool materialize, out string? unescaped)
    {
        unescaped = null;
        int contentStart = i + 1;
        StringBuilder? builder = null; // only needed when an escape makes the result differ from the raw slice
        int length = 0;
        int j = contentStart;
        while (true)
        {
            if (j >= value.Length)
            {
                return false; // unclosed quoted string (ADVISORIES #2)
            }

            char c = value[j];
            if (c == '"')
            {
                break;
            }

            if (c == '\\')
            {
                if (j + 1 >= value.Length)
                {
                    return false; // backslash escape with nothing to escape
                }

                if (materialize && builder is null)
                {
                    builder = new StringBuilder(value.Length - contentStart);
                    builder.Append(value, contentStart, j - contentStart);
                }

                c = value[j + 1];
                j += 2;
            }
            else
            {
                j++;
            }

            // Every unescaped character must be a tchar; this also rules out control characters and
            // non-ASCII text, so quoted-pair/qdtext need no separate check.
            if (!HeaderTokens.IsTokenChar(c))
            {
                return false;
            }

            builder?.Append(c);
            length++;
        }

        if (length == 0)
        {
            return false; // "" does not unescape to a token
        }

        if (materialize)
        {
            unescaped = builder?.ToString() ?? value.Substring(contentStart, j - contentStart);
        }

        i = j + 1;
        return true;
    }
}
