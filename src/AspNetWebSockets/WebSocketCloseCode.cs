namespace AspNetWebSockets;

/// <summary>
/// Close codes from RFC 6455 §7.4.1 and the IANA WebSocket Close Code Number Registry, as the browser's
/// <c>CloseEvent.code</c> reports them. Codes 3000–3999 are registered for libraries and frameworks,
/// 4000–4999 are free for applications.
/// </summary>
public static class WebSocketCloseCode
{
    /// <summary>1000: the purpose of the connection has been fulfilled.</summary>
    public const int NormalClosure = 1000;

    /// <summary>1001: the endpoint is going away (server shutdown, page navigation).</summary>
    public const int GoingAway = 1001;

    /// <summary>1002: the peer broke the protocol.</summary>
    public const int ProtocolError = 1002;

    /// <summary>1003: the endpoint received a type of data it cannot accept.</summary>
    public const int UnsupportedData = 1003;

    /// <summary>1005: reported locally when the close frame carried no code; never sent on the wire.</summary>
    public const int NoStatusReceived = 1005;

    /// <summary>1006: reported locally when the connection dropped without a close frame; never sent on the wire.</summary>
    public const int AbnormalClosure = 1006;

    /// <summary>1007: a message's data was inconsistent with its type (e.g. invalid UTF-8 in a text message).</summary>
    public const int InvalidPayloadData = 1007;

    /// <summary>1008: a message violated the endpoint's policy.</summary>
    public const int PolicyViolation = 1008;

    /// <summary>1009: a message was too big to process.</summary>
    public const int MessageTooBig = 1009;

    /// <summary>1010: the client expected the server to negotiate an extension it did not.</summary>
    public const int MandatoryExtension = 1010;

    /// <summary>1011: the server met an unexpected condition (e.g. the handler threw).</summary>
    public const int InternalServerError = 1011;

    /// <summary>1012: the service is restarting.</summary>
    public const int ServiceRestart = 1012;

    /// <summary>1013: try again later (temporary overload).</summary>
    public const int TryAgainLater = 1013;

    /// <summary>1014: a gateway or proxy received an invalid response from upstream.</summary>
    public const int BadGateway = 1014;

    /// <summary>1015: reported locally when the TLS handshake failed; never sent on the wire.</summary>
    public const int TlsHandshakeFailure = 1015;

    /// <summary>
    /// True for codes an endpoint may put in a close frame: 1000–1003, 1007–1014 and 3000–4999
    /// (RFC 6455 §7.4 with the IANA registry). 1004–1006, 1015, below 1000, 1016–2999 and 5000 and above are not.
    /// </summary>
    /// <param name="code">The close code to check.</param>
    /// <returns>Whether the code may appear on the wire.</returns>
    public static bool IsValidOnWire(int code) =>
        code is (>= 1000 and <= 1003) or (>= 1007 and <= 1014) or (>= 3000 and <= 4999);
}
