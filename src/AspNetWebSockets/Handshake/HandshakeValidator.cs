using Microsoft.Extensions.Primitives;

namespace AspNetWebSockets.Handshake;

/// <summary>Validates an HTTP/1.1 WebSocket upgrade request against RFC 6455 §4.2.1. Pure: no I/O, never throws.</summary>
internal static class HandshakeValidator
{
    /// <summary>Cap on the summed length of the Sec-WebSocket-Protocol and, separately, Sec-WebSocket-Extensions values.</summary>
    /// <remarks>Bounds the parsing work per request (ADVISORIES #1); real browsers send a few dozen characters.</remarks>
    public const int MaxListHeaderLength = 4096;

    /// <summary>
    /// Validates an upgrade request. Checks, in this order: Upgrade contains <c>websocket</c>; method is GET; protocol
    /// is HTTP/1.1 or later; exactly one non-empty Host; Connection contains <c>upgrade</c>; no request body; exactly
    /// one Sec-WebSocket-Key that is 16 bytes of base64; Sec-WebSocket-Version is exactly 13; Sec-WebSocket-Protocol
    /// and Sec-WebSocket-Extensions are syntactically valid.
    /// </summary>
    /// <remarks>
    /// The Upgrade check comes first so that a plain HTTP request (any method) to a WebSocket route gets 426, not 405.
    /// O(n) in the header sizes, no regex, no exceptions; absent headers are failures, never crashes (ADVISORIES #4).
    /// The HTTP/2 Extended CONNECT form (RFC 8441) is the caller's business; a "HTTP/2" protocol string passes the
    /// version check here.
    /// </remarks>
    public static HandshakeFailure Validate(in HandshakeRequest request)
    {
        if (!HeaderTokens.Contains(request.Upgrade, "websocket"))
        {
            return HandshakeFailure.NotWebSocketUpgrade;
        }

        if (!string.Equals(request.Method, "GET", StringComparison.Ordinal))
        {
            return HandshakeFailure.MethodNotAllowed;
        }

        if (!IsHttp11OrLater(request.Protocol))
        {
            return HandshakeFailure.HttpVersionNotSupported;
        }

        // RFC 7230 §5.4: a request with no Host or more than one Host is a 400.
        if (request.Host.Count != 1 || HeaderTokens.TrimOws(request.Host[0]).IsEmpty)
        {
            return HandshakeFailure.MissingHost;
        }

        if (!HeaderTokens.Contains(request.Connection, "upgrade"))
        {
            return HandshakeFailure.MissingConnectionUpgrade;
        }

        // A body would be read as WebSocket frames after the upgrade (request smuggling into the frame stream);
        // Kestrel refuses these too. A negative length can only come from a broken caller; refuse it as well.
        if (request.ContentLength is not (null or 0) || request.TransferEncoding.Count > 0)
        {
            return HandshakeFailure.RequestBodyNotAllowed;
        }

        HandshakeFailure keyFailure = ValidateKey(request.SecWebSocketKey);
        if (keyFailure != HandshakeFailure.None)
        {
            return keyFailure;
        }

        if (request.SecWebSocketVersion.Count != 1 || !HeaderTokens.TrimOws(request.SecWebSocketVersion[0]).SequenceEqual("13"))
        {
            return HandshakeFailure.UnsupportedVersion;
        }

        if (!HeaderTokens.TryParseTokenList(request.SecWebSocketProtocol, MaxListHeaderLength, tokens: null))
        {
            return HandshakeFailure.InvalidSubProtocolHeader;
        }

        if (!ExtensionHeaderParser.IsValid(request.SecWebSocketExtensions, MaxListHeaderLength))
        {
            return HandshakeFailure.InvalidExtensionsHeader;
        }

        return HandshakeFailure.None;
    }

    /// <summary>
    /// Validates an HTTP/2 extended CONNECT (RFC 8441 §4-5): <c>:protocol</c> is <c>websocket</c>; there is no key and no
    /// Upgrade/Connection (HTTP/2 forbids them), but Sec-WebSocket-Version must still be 13 and the subprotocol and
    /// extension lists must be well formed. Pure, never throws.
    /// </summary>
    public static HandshakeFailure ValidateExtendedConnect(string? connectProtocol, in HandshakeRequest request)
    {
        if (!string.Equals(connectProtocol, "websocket", StringComparison.OrdinalIgnoreCase))
        {
            return HandshakeFailure.UnsupportedConnectProtocol;
        }

        if (request.SecWebSocketVersion.Count != 1 || !HeaderTokens.TrimOws(request.SecWebSocketVersion[0]).SequenceEqual("13"))
        {
            return HandshakeFailure.UnsupportedVersion;
        }

        if (!HeaderTokens.TryParseTokenList(request.SecWebSocketProtocol, MaxListHeaderLength, tokens: null))
        {
            return HandshakeFailure.InvalidSubProtocolHeader;
        }

        return ExtensionHeaderParser.IsValid(request.SecWebSocketExtensions, MaxListHeaderLength) ? HandshakeFailure.None : HandshakeFailure.InvalidExtensionsHeader;
    }

    /// <summary>
    /// True if <paramref name="protocol"/> is <c>HTTP/major[.minor]</c> with a version of at least 1.1
    /// (HTTP/1.1, HTTP/2, HTTP/2.0, HTTP/3). Anything unparseable is refused.
    /// </summary>
    public static bool IsHttp11OrLater(string? protocol)
    {
        if (protocol is null || !protocol.StartsWith("HTTP/", StringComparison.Ordinal))
        {
            return false;
        }

        ReadOnlySpan<char> version = protocol.AsSpan(5);
        int dot = version.IndexOf('.');
        ReadOnlySpan<char> majorText = dot < 0 ? version : version[..dot];
        ReadOnlySpan<char> minorText = dot < 0 ? "0" : version[(dot + 1)..];
        if (!TryParseVersionNumber(majorText, out int major) || !TryParseVersionNumber(minorText, out int minor))
        {
            return false;
        }

        return major > 1 || (major == 1 && minor >= 1);
    }

    // ASCII digits only (no sign, no whitespace, no culture), at most 4 of them: real versions are single digits.
    private static bool TryParseVersionNumber(ReadOnlySpan<char> text, out int number)
    {
        number = 0;
        if (text.IsEmpty || text.Length > 4)
        {
            return false;
        }

        foreach (char c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            number = (number * 10) + (c - '0');
        }

        return true;
    }

    /// <summary>
    /// Exactly one key whose value, minus leading/trailing OWS (RFC 6455 §4.2.2), is 16 bytes of standard base64:
    /// 22 alphabet characters followed by <c>==</c>.
    /// </summary>
    /// <remarks>
    /// Checked by shape rather than with <see cref="Convert.TryFromBase64String"/>, which skips embedded whitespace and
    /// would accept keys such as <c>"dGhl IHNh..."</c>. A comma can never appear in base64, so a comma means a list.
    /// </remarks>
    private static HandshakeFailure ValidateKey(StringValues values)
    {
        if (values.Count == 0)
        {
            return HandshakeFailure.InvalidKey;
        }

        if (values.Count > 1)
        {
            return HandshakeFailure.DuplicateKey;
        }

        ReadOnlySpan<char> key = values[0];
        if (key.Contains(','))
        {
            return CountNonEmptyElements(key) > 1 ? HandshakeFailure.DuplicateKey : HandshakeFailure.InvalidKey;
        }

        return IsValidKey(key) ? HandshakeFailure.None : HandshakeFailure.InvalidKey;
    }

    /// <summary>True if <paramref name="key"/> (OWS-trimmed) is 16 bytes of base64, i.e. 22 base64 characters and <c>==</c>.</summary>
    public static bool IsValidKey(ReadOnlySpan<char> key)
    {
        key = HeaderTokens.TrimOws(key);
        if (key.Length != WebSocketAccept.KeyLength || key[22] != '=' || key[23] != '=')
        {
            return false;
        }

        foreach (char c in key[..22])
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '+' || c == '/'))
            {
                return false;
            }
        }

        return true;
    }

    private static int CountNonEmptyElements(ReadOnlySpan<char> list)
    {
        int count = 0;
        while (true)
        {
            int comma = list.IndexOf(',');
            if (!HeaderTokens.TrimOws(comma < 0 ? list : list[..comma]).IsEmpty)
            {
                count++;
            }

            if (comma < 0)
            {
                return count;
            }

            list = list[(comma + 1)..];
        }
    }
}
