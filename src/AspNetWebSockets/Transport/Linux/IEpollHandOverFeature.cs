namespace AspNetWebSockets.Transport.Linux;

/// <summary>
/// Offered by connections of the lean transport: takes the socket away from Kestrel after an HTTP/1.1 upgrade, so the
/// request can end and Kestrel can free its HTTP objects while the WebSocket goes on over the same socket. Bytes the
/// transport already received past the handshake, and bytes still queued for sending (the 101), stay in the socket.
/// </summary>
internal interface IEpollHandOverFeature
{
    /// <summary>
    /// Cuts Kestrel's reader and writer off the socket and returns it; from now on the caller owns (and must close) it.
    /// Null if the connection is closed or was handed over already.
    /// </summary>
    EpollSocket? HandOver();
}
