namespace AspNetWebSockets.Handshake;

/// <summary>Cross-site WebSocket hijacking guard: decides whether a browser's <c>Origin</c> may open a WebSocket.</summary>
/// <remarks>
/// Browsers attach cookies to the upgrade request and apply no CORS to it, so any page could otherwise drive an
/// authenticated socket (ADVISORIES #14). Default is same-origin, like coder/websocket and gorilla. Everything is
/// parsed by hand with a strict grammar instead of <see cref="Uri"/>, which accepts paths, user info and odd hosts
/// that an Origin can never legitimately carry; whatever does not parse is refused. Hosts are compared whole, so
/// <c>evil-example.com</c> and <c>example.com.evil.net</c> never match <c>example.com</c>. No allocation per call.
/// </remarks>
internal static class OriginPolicy
{
    /// <summary>The serialization of an opaque origin (sandboxed iframes, <c>file:</c> pages, redirects).</summary>
    public const string NullOrigin = "null";

    /// <summary>
    /// True if a request with this <paramref name="origin"/> may be upgraded.
    /// </summary>
    /// <param name="origin">The Origin header value; null or empty means a non-browser client, which is allowed.</param>
    /// <param name="host">The request's Host header.</param>
    /// <param name="requestScheme"><c>http</c> or <c>https</c>: the scheme the request arrived on.</param>
    /// <param name="allowedOrigins">
    /// Origins such as <c>https://example.com</c> or <c>http://localhost:5000</c>, compared by scheme, host and port
    /// case-insensitively with default ports normalised; the literal <c>null</c> entry allows <c>Origin: null</c>.
    /// Malformed entries never match (use <see cref="TryNormalize"/> to validate them at startup).
    /// </param>
    /// <param name="allowAny">The documented opt-out: allow every origin.</param>
    public static bool IsAllowed(string? origin, string host, string requestScheme, IReadOnlyCollection<string> allowedOrigins, bool allowAny)
    {
        if (allowAny)
        {
            return true;
        }

        ReadOnlySpan<char> originText = HeaderTokens.TrimOws(origin);
        if (originText.IsEmpty)
        {
            // Browsers always send Origin on WebSocket upgrades; its absence means a non-browser client, which
            // carries no ambient browser credentials for an attacker to borrow.
            return true;
        }

        if (originText.Equals(NullOrigin, StringComparison.OrdinalIgnoreCase))
        {
            // An opaque origin cannot be same-origin with anything; only an explicit "null" entry admits it.
            return ContainsNullEntry(allowedOrigins);
        }

        if (!TryParseEntry(originText, out ReadOnlySpan<char> scheme, out ReadOnlySpan<char> originHost, out int originPort))
        {
            return false;
        }

        if (allowedOrigins is not null)
        {
            foreach (string entry in allowedOrigins)
            {
                if (TryParseEntry(entry, out ReadOnlySpan<char> allowedScheme, out ReadOnlySpan<char> allowedHost, out int allowedPort)
                    && scheme.Equals(allowedScheme, StringComparison.OrdinalIgnoreCase)
                    && originHost.Equals(allowedHost, StringComparison.OrdinalIgnoreCase)
                    && EffectivePort(scheme, originPort) == EffectivePort(allowedScheme, allowedPort))
                {
                    return true;
                }
            }
        }

        // Same-origin check on the authority only. The scheme is deliberately not compared: behind a TLS-terminating
        // proxy the page is https://example.com while the request reaches us as http with Host: example.com, and
        // comparing schemes would refuse every legitimate browser. Ports are still compared (default ports dropped
        // on each side for its own scheme), so another service on the same host but a different port is refused.
        if (!TryParseAuthority(HeaderTokens.TrimOws(host), out ReadOnlySpan<char> requestHost, out int requestPort))
        {
            return false;
        }

        return originHost.Equals(requestHost, StringComparison.OrdinalIgnoreCase)
            && PortWithoutDefault(scheme, originPort) == PortWithoutDefault(requestScheme, requestPort);
    }

    /// <summary>
    /// Normalises an origin (or allow-list entry) to <c>scheme://host[:port]</c> in lower case with the scheme's default
    /// port dropped; <c>null</c> stays <c>null</c>. False if it is not a bare origin (paths, user info, bad ports...).
    /// </summary>
    /// <remarks>For options validation, so that a typo in <c>AllowedOrigins</c> fails at startup rather than silently never matching.</remarks>
    public static bool TryNormalize(string? origin, out string normalized)
    {
        normalized = string.Empty;
        if (HeaderTokens.TrimOws(origin).Equals(NullOrigin, StringComparison.OrdinalIgnoreCase))
        {
            normalized = NullOrigin;
            return true;
        }

        if (!TryParseEntry(origin, out ReadOnlySpan<char> scheme, out ReadOnlySpan<char> host, out int port))
        {
            return false;
        }

        int shownPort = PortWithoutDefault(scheme, port);
        string result = string.Concat(scheme, "://", host, shownPort < 0 ? string.Empty : ":" + shownPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // Lower case on purpose: RFC 6454 §6.2 serializes scheme and host in lower case, which is what browsers send.
#pragma warning disable CA1308
        normalized = result.ToLowerInvariant();
#pragma warning restore CA1308
        return true;
    }

    private static bool ContainsNullEntry(IReadOnlyCollection<string>? allowedOrigins)
    {
        if (allowedOrigins is null)
        {
            return false;
        }

        foreach (string entry in allowedOrigins)
        {
            if (HeaderTokens.TrimOws(entry).Equals(NullOrigin, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Default port for a scheme, or -1 when the scheme has none we know of.</summary>
    private static int DefaultPort(ReadOnlySpan<char> scheme)
    {
        if (scheme.Equals("http", StringComparison.OrdinalIgnoreCase) || scheme.Equals("ws", StringComparison.OrdinalIgnoreCase))
        {
            return 80;
        }

        if (scheme.Equals("https", StringComparison.OrdinalIgnoreCase) || scheme.Equals("wss", StringComparison.OrdinalIgnoreCase))
        {
            return 443;
        }

        return -1;
    }

    /// <summary>The port actually meant: the explicit one, else the scheme's default (-1 if neither).</summary>
    private static int EffectivePort(ReadOnlySpan<char> scheme, int explicitPort) => explicitPort >= 0 ? explicitPort : DefaultPort(scheme);

    /// <summary>The port as it appears in a normalised authority: -1 (absent) when it is the scheme's default.</summary>
    private static int PortWithoutDefault(ReadOnlySpan<char> scheme, int explicitPort) =>
        explicitPort == DefaultPort(scheme) ? -1 : explicitPort;

    /// <summary>
    /// Parses an origin — an <c>Origin</c> header or an <c>AllowedOrigins</c> entry, with one parser so that whatever
    /// passes startup validation can match — as <see cref="TryParseOrigin"/> reads it, optionally followed by one
    /// <c>/</c>: people write <c>https://example.com/</c> as often as <c>https://example.com</c>, and both can only
    /// mean the same origin.
    /// </summary>
    private static bool TryParseEntry(ReadOnlySpan<char> value, out ReadOnlySpan<char> scheme, out ReadOnlySpan<char> host, out int port)
    {
        ReadOnlySpan<char> text = HeaderTokens.TrimOws(value);
        if (text.EndsWith('/'))
        {
            text = text[..^1];
        }

        return TryParseOrigin(text, out scheme, out host, out port);
    }

    /// <summary>
    /// Parses a serialized origin, <c>scheme "://" host [ ":" port ]</c> (RFC 6454 §6.2), with nothing before or after.
    /// <c>port</c> is the explicit port, or -1 when none was given.
    /// </summary>
    private static bool TryParseOrigin(ReadOnlySpan<char> text, out ReadOnlySpan<char> scheme, out ReadOnlySpan<char> host, out int port)
    {
        scheme = default;
        host = default;
        port = -1;

        // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
        int i = 0;
        if (text.IsEmpty || !char.IsAsciiLetter(text[0]))
        {
            return false;
        }

        while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] is '+' or '-' or '.'))
        {
            i++;
        }

        if (!text[i..].StartsWith("://", StringComparison.Ordinal))
        {
            return false;
        }

        scheme = text[..i];
        return TryParseAuthority(text[(i + 3)..], out host, out port);
    }

    /// <summary>
    /// Parses <c>host [ ":" port ]</c> where host is a DNS name or IPv4 address (letters, digits, '-', '.', '_') or a
    /// bracketed IPv6 literal, and port is 1–5 digits up to 65535. Anything else — user info, paths, percent-encoding,
    /// whitespace, non-ASCII — makes it fail. <c>port</c> is the explicit port, or -1 when none was given.
    /// </summary>
    private static bool TryParseAuthority(ReadOnlySpan<char> text, out ReadOnlySpan<char> host, out int port)
    {
        host = default;
        port = -1;
        int i = 0;
        if (text.IsEmpty)
        {
            return false;
        }

        if (text[0] == '[')
        {
            int close = text.IndexOf(']');
            if (close < 2)
            {
                return false;
            }

            foreach (char c in text[1..close])
            {
                if (!(char.IsAsciiHexDigit(c) || c is ':' or '.'))
                {
                    return false;
                }
            }

            i = close + 1;
        }
        else
        {
            while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] is '-' or '.' or '_'))
            {
                i++;
            }

            if (i == 0)
            {
                return false;
            }
        }

        host = text[..i];
        ReadOnlySpan<char> rest = text[i..];
        if (rest.IsEmpty)
        {
            return true;
        }

        if (rest[0] != ':' || rest.Length < 2 || rest.Length > 6)
        {
            return false;
        }

        int value = 0;
        foreach (char c in rest[1..])
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        if (value > 65535)
        {
            return false;
        }

        port = value;
        return true;
    }
}
