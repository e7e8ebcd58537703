using System.Net.WebSockets;
using System.Text;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets;

/// <summary>
/// A message framed once, to send many times through <see cref="IWebSocketSender"/> without framing or copying it again
/// (e.g. the same notification to many users). Immutable and thread-safe.
/// </summary>
public sealed class WebSocketPreparedMessage
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private WebSocketPreparedMessage(PreparedMessage prepared, WebSocketMessageType type)
    {
        Prepared = prepared;
        MessageType = type;
    }

    /// <summary>Text or binary.</summary>
    public WebSocketMessageType MessageType { get; }

    /// <summary>The payload (UTF-8 for text).</summary>
    public ReadOnlyMemory<byte> Payload => Prepared.Payload;

    internal PreparedMessage Prepared { get; }

    /// <summary>Prepares a text message.</summary>
    /// <param name="text">Well-formed UTF-16 (a lone surrogate is an <see cref="ArgumentException"/>).</param>
    /// <returns>The prepared message.</returns>
    public static WebSocketPreparedMessage Text(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] utf8;
        try
        {
            utf8 = StrictUtf8.GetBytes(text);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException("The text is not well-formed UTF-16 (lone surrogate).", nameof(text), e);
        }

        return Create(utf8, WebSocketMessageType.Text);
    }

    /// <summary>Prepares a text (valid UTF-8) or binary message; the payload is copied, so the caller may reuse it.</summary>
    /// <param name="payload">The payload.</param>
    /// <param name="messageType">Text or binary.</param>
    /// <returns>The prepared message.</returns>
    public static WebSocketPreparedMessage Create(ReadOnlySpan<byte> payload, WebSocketMessageType messageType) =>
        new(PreparedMessage.Create(payload, messageType), messageType);
}
