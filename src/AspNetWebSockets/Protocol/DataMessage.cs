using System.Net.WebSockets;
using System.Text;

namespace AspNetWebSockets.Protocol;

/// <summary>
/// The rules for a data message an application sends (RFC 6455 §5.6): it is text or binary, and text is valid UTF-8.
/// Checked before anything is framed, so a bad argument is the caller's exception, never a frame the peer must fail.
/// </summary>
internal static class DataMessage
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The opcode of a message's first frame.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="type"/> is not text or binary.</exception>
    public static WebSocketOpcode OpcodeOf(WebSocketMessageType type, string paramName) => type switch
    {
        WebSocketMessageType.Text => WebSocketOpcode.Text,
        WebSocketMessageType.Binary => WebSocketOpcode.Binary,
        _ => throw new ArgumentOutOfRangeException(paramName, type, "A data message is text or binary; use CloseAsync to send a close frame."),
    };

    /// <summary>Checks <paramref name="payload"/> as a whole message of <paramref name="type"/>; returns its opcode.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="type"/> is not text or binary.</exception>
    /// <exception cref="ArgumentException">A text payload is not valid UTF-8.</exception>
    public static WebSocketOpcode Validate(ReadOnlySpan<byte> payload, WebSocketMessageType type, string payloadName, string typeName = "messageType")
    {
        WebSocketOpcode opcode = OpcodeOf(type, typeName);
        if (opcode == WebSocketOpcode.Text && !System.Text.Unicode.Utf8.IsValid(payload))
        {
            throw new ArgumentException("Text messages must be valid UTF-8.", payloadName);
        }

        return opcode;
    }

    /// <summary>The length of <paramref name="text"/> in UTF-8; it must be well-formed UTF-16.</summary>
    /// <exception cref="ArgumentException">The text contains a lone surrogate (it has no UTF-8 form).</exception>
    public static int Utf8Length(string text, string paramName)
    {
        try
        {
            return StrictUtf8.GetByteCount(text);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException("The text is not well-formed UTF-16 (lone surrogate).", paramName, e);
        }
    }

    /// <summary>Encodes <paramref name="text"/>, already measured by <see cref="Utf8Length"/>, as UTF-8.</summary>
    public static int ToUtf8(string text, Span<byte> destination) => StrictUtf8.GetBytes(text, destination);
}
