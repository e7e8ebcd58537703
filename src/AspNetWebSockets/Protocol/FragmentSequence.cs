using System.Net.WebSockets;

namespace AspNetWebSockets.Protocol;

/// <summary>
/// The rules for a message an application sends in fragments (RFC 6455 §5.4): the first frame carries the message's
/// opcode and every later one is a continuation; text stays valid UTF-8 across fragment boundaries (a code point may span
/// them, §8.1), checked incrementally so a bad fragment is refused before it is framed. A mutable struct: keep it in a field.
/// </summary>
internal struct FragmentSequence(WebSocketMessageType type)
{
    private Utf8Validator _utf8;
    private bool _started;

    /// <summary>The opcode of the next fragment, after checking it; <paramref name="fin"/> marks the message's last.</summary>
    /// <exception cref="ArgumentException">A text fragment makes the message's UTF-8 invalid.</exception>
    public WebSocketOpcode Next(ReadOnlySpan<byte> fragment, bool fin, string paramName)
    {
        if (type == WebSocketMessageType.Text && !_utf8.TryValidate(fragment, fin))
        {
            throw new ArgumentException("Text messages must be valid UTF-8.", paramName);
        }

        WebSocketOpcode opcode = _started ? WebSocketOpcode.Continuation : DataMessage.OpcodeOf(type, nameof(type));
        _started = true;
        return opcode;
    }
}
