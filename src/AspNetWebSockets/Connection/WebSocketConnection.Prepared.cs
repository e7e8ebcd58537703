using AspNetWebSockets.Protocol;

namespace AspNetWebSockets;

public sealed partial class WebSocketConnection
{
    /// <summary>
    /// Sends a message framed once for many connections: the frame's bytes (server role, unmasked, RSV1 clear) are written
    /// as they are, under the same message and write locks as every other send, and counted in <see cref="BufferedAmount"/>
    /// like one. With an extension negotiated the member gets a shared encoded frame or the plain one
    /// (see <see cref="WebSocketProtocol.PreparedFrameFor"/>). A client-role connection must mask, so it frames the payload itself instead.
    /// </summary>
    /// <param name="message">The prepared frame.</param>
    /// <param name="cancellationToken">Stops waiting for the locks or the flush.</param>
    /// <returns>A task that completes when the frame has been handed to the transport.</returns>
    internal ValueTask SendPreparedAsync(PreparedMessage message, CancellationToken cancellationToken) =>
        _sender.SendMessageAsync(OutgoingFrame.ForPrepared(message, Engine), encode: false, cancellationToken);

    /// <summary>
    /// Ends the connection at once because it fell too far behind a broadcast (see <see cref="WebSocketGroupsOptions.MaxBufferedAmountPerMember"/>).
    /// A close frame would queue behind the data the peer is not reading, so none is sent; <see cref="Closed"/> reports
    /// <paramref name="code"/>.
    /// </summary>
    internal void TerminateSlowConsumer(int code, string reason) =>
        Terminate(new WebSocketCloseInfo(code, reason, WasClean: false), graceful: false);
}
