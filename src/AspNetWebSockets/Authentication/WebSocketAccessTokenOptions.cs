namespace AspNetWebSockets;

/// <summary>Where browser WebSocket clients may put a bearer token (<c>services.AddWebSocketAccessTokens(o => ...)</c>).</summary>
public sealed class WebSocketAccessTokenOptions
{
    /// <summary>The query parameter carrying the token: <c>new WebSocket("wss://host/chat?access_token=" + token)</c>. Default <c>access_token</c> (as SignalR); null turns the query off.</summary>
    public string? QueryParameter { get; set; } = "access_token";

    /// <summary>
    /// The prefix of a <c>Sec-WebSocket-Protocol</c> entry carrying the token:
    /// <c>new WebSocket(url, ["chat.v1", "access_token." + token])</c>. The entry is never selected as the subprotocol, so the
    /// endpoint must also speak a real subprotocol the client offers (browsers refuse a handshake that answers none of the
    /// offered ones). Default <c>access_token.</c>; null turns it off. The token must be an RFC 7230 token (a JWT is).
    /// </summary>
    public string? SubProtocolPrefix { get; set; } = "access_token.";
}
