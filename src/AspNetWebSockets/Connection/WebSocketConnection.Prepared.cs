using AspNetWebSockets.Broadcast;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets;

public sealed partial class WebSocketConnection
{
    /// <summary>
    /// Sends a message framed once for many connections: the frame's bytes (server role, unmasked, RSV1 clear) are written
    /// as they are, under the same message and write locks as every other send, and counted in <see cref="BufferedAmount"/>
    /// like one. With permessage-deflate negotiated the member gets a shared compressed frame or the uncompressed one
    /// (see <see cref="FrameFor"/>). A client-role connection must mask, so it frames the payload itself instead.
    /// </summary>
    /// <param name="message">The prepared frame.</param>
    /// <param name="cancellationToken">Stops waiting for the locks or the flush.</param>
    /// <returns>A task that completes when the frame has been handed to the transport.</returns>
    internal ValueTask SendPreparedAsync(PreparedMessage message, CancellationToken cancellationToken)
    {
        if (_role != WebSocketRole.Server)
        {
            return SendMessageAsync(message.Opcode, message.Payload, compress: false, cancellationToken);
        }

        // Same lock-write-flush path as every whole-message send, with the frame's bytes written as they are.
        return SendWholeFrameAsync(OutgoingFrame.ForPrepared(FrameFor(message), message.PayloadLength), cancellationToken);
    }

    /// <summary>
    /// The bytes this member gets: the shared compressed frame when it negotiated permessage-deflate without server
    /// context takeover (its peer resets per message, so one compression serves all such members) and the message is
    /// worth compressing; otherwise the shared uncompressed frame (always legal: compression is per message). Members
    /// with context takeover cannot share compressed bytes, because each compressor's history differs.
    /// </summary>
    private ReadOnlyMemory<byte> FrameFor(PreparedMessage message)
    {
        if (_deflater is { ContextTakeover: false } deflater && message.PayloadLength >= _minCompressedSize)
        {
            WebSocketCompressionOptions options = _settings.CompressionOptions;
            return message.GetCompressedFrame(deflater.WindowBits, options.Level, options.MemoryLevel);
        }

        return message.Frame;
    }

    /// <summary>
    /// Ends the connection at once because it fell too far behind a broadcast (see <see cref="WebSocketGroupsOptions.MaxBufferedAmountPerMember"/>).
    /// A close frame would queue behind the data the peer is not reading, so none is sent; <see cref="Closed"/> reports
    /// <paramref name="code"/>.
    /// </summary>
    internal void TerminateSlowConsumer(int code, string reason) =>
        Terminate(new WebSocketCloseInfo(code, reason, WasClean: false), graceful: false);
}
