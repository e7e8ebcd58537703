namespace AspNetWebSockets.Protocol;

/// <summary>
/// Which end of the connection the protocol core plays. One implementation serves both: the server
/// requires masked inbound frames and sends unmasked ones; the client does the reverse (RFC 6455 §5.1).
/// </summary>
internal enum WebSocketRole : byte
{
    Server,
    Client,
}
