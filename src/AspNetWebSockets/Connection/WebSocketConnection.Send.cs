using System.Buffers;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets;

public sealed partial class WebSocketConnection
{
    /// <summary>Sends a text message.</summary>
    /// <param name="text">The text; it must be well-formed UTF-16 (no lone surrogates).</param>
    /// <param name="cancellationToken">Stops waiting for the send.</param>
    /// <returns>A task that completes when the message has been handed to the transport.</returns>
    /// <exception cref="ArgumentException">The text contains a lone surrogate.</exception>
    public async ValueTask SendTextAsync(string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(DataMessage.Utf8Length(text, nameof(text)), 1));
        try
        {
            int length = DataMessage.ToUtf8(text, buffer);
            await SendMessageAsync(WebSocketOpcode.Text, buffer.AsMemory(0, length), compress: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Sends a text message that is already UTF-8.</summary>
    /// <param name="utf8">The UTF-8 bytes; they are validated.</param>
    /// <param name="cancellationToken">Stops waiting for the send.</param>
    /// <returns>A task that completes when the message has been handed to the transport.</returns>
    /// <exception cref="ArgumentException">The bytes are not valid UTF-8.</exception>
    public ValueTask SendTextAsync(ReadOnlyMemory<byte> utf8, CancellationToken cancellationToken = default) =>
        SendMessageAsync(DataMessage.Validate(utf8.Span, WebSocketMessageType.Text, nameof(utf8)), utf8, compress: true, cancellationToken);

    /// <summary>Sends a binary message.</summary>
    /// <param name="data">The payload.</param>
    /// <param name="cancellationToken">Stops waiting for the send.</param>
    /// <returns>A task that completes when the message has been handed to the transport.</returns>
    public ValueTask SendBinaryAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        SendMessageAsync(WebSocketOpcode.Binary, data, compress: true, cancellationToken);

    /// <summary>Sends a binary message whose payload is a (possibly multi-segment) sequence, as one frame (multi-segment payloads are sent uncompressed).</summary>
    /// <param name="data">The payload.</param>
    /// <param name="cancellationToken">Stops waiting for the send.</param>
    /// <returns>A task that completes when the message has been handed to the transport.</returns>
    public ValueTask SendBinaryAsync(ReadOnlySequence<byte> data, CancellationToken cancellationToken = default) =>
        data.IsSingleSegment
            ? SendBinaryAsync(data.First, cancellationToken)
            : _sender.SendMessageAsync(OutgoingFrame.ForSequence(WebSocketOpcode.Binary, data), encode: false, cancellationToken);

    /// <summary>Sends a message of the given type: echo a received message with <c>SendAsync(message.Data, message.Type)</c>.</summary>
    /// <param name="data">The payload (valid UTF-8 for text).</param>
    /// <param name="messageType">Text or binary.</param>
    /// <param name="cancellationToken">Stops waiting for the send.</param>
    /// <returns>A task that completes when the message has been handed to the transport.</returns>
    public ValueTask SendAsync(ReadOnlyMemory<byte> data, WebSocketMessageType messageType, CancellationToken cancellationToken = default) =>
        SendAsync(data, messageType, compress: true, cancellationToken);

    /// <summary>
    /// Sends a message of the given type, choosing per message whether permessage-deflate may compress it. Pass false for
    /// data that is already compressed, and for messages that mix secrets with attacker-influenced text (CRIME/BREACH).
    /// </summary>
    /// <param name="data">The payload (valid UTF-8 for text).</param>
    /// <param name="messageType">Text or binary.</param>
    /// <param name="compress">Whether to compress when compression was negotiated and the message is at least <see cref="WebSocketCompressionOptions.MinMessageSize"/> bytes.</param>
    /// <param name="cancellationToken">Stops waiting for the send.</param>
    /// <returns>A task that completes when the message has been handed to the transport.</returns>
    public ValueTask SendAsync(ReadOnlyMemory<byte> data, WebSocketMessageType messageType, bool compress, CancellationToken cancellationToken = default) =>
        SendMessageAsync(DataMessage.Validate(data.Span, messageType, nameof(data)), data, compress, cancellationToken);

    /// <summary>
    /// Starts a streamed (fragmented) message for payloads too large to hold at once. Other messages wait until
    /// it completes; control frames do not. Dispose the writer to finish the message.
    /// </summary>
    /// <param name="messageType">Text or binary.</param>
    /// <param name="cancellationToken">Stops waiting for the message slot.</param>
    /// <returns>A writer that sends each chunk as a fragment.</returns>
    public async ValueTask<WebSocketMessageWriter> BeginMessageAsync(WebSocketMessageType messageType, CancellationToken cancellationToken = default)
    {
        DataMessage.OpcodeOf(messageType, nameof(messageType));
        await _sender.BeginMessageAsync(cancellationToken).ConfigureAwait(false);
        return new WebSocketMessageWriter(_sender, messageType);
    }

    private ValueTask SendMessageAsync(WebSocketOpcode opcode, ReadOnlyMemory<byte> payload, bool compress, CancellationToken cancellationToken) =>
        _sender.SendMessageAsync(OutgoingFrame.ForPayload(opcode, payload), encode: compress && Engine.Extension is not null, cancellationToken);

    /// <summary>Writes a ping, pong or close frame, without waiting for a streamed message to finish.</summary>
    private ValueTask SendControlFrameAsync(WebSocketOpcode opcode, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        _sender.SendControlAsync(opcode, payload, cancellationToken);
}
