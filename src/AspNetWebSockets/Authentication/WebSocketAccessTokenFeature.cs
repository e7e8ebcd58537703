namespace AspNetWebSockets.Authentication;

/// <summary>A bearer token that <see cref="WebSocketAccessTokenRedactingServer"/> took out of a handshake's query string before anything logged it.</summary>
internal sealed class WebSocketAccessTokenFeature(string token)
{
    public string Token { get; } = token;
}
