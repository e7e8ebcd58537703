using System.Net.WebSockets;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets.Tests.Protocol;

/// <summary>What an application may send as a data message (RFC 6455 §5.6), checked before anything is framed.</summary>
public sealed class DataMessageTests
{
    [Fact]
    public void Text_and_binary_have_their_opcodes_and_other_types_are_refused()
    {
        Assert.Equal(WebSocketOpcode.Text, DataMessage.Validate("hi"u8, WebSocketMessageType.Text, "data"));
        Assert.Equal(WebSocketOpcode.Binary, DataMessage.Validate([0xFF], WebSocketMessageType.Binary, "data"));

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => DataMessage.Validate([], WebSocketMessageType.Close, "data"));
        Assert.Equal("messageType", e.ParamName);
    }

    [Fact]
    public void Text_must_be_valid_UTF8()
    {
        var e = Assert.Throws<ArgumentException>(() => DataMessage.Validate([0xC3], WebSocketMessageType.Text, "utf8"));
        Assert.Equal("utf8", e.ParamName);
    }

    [Fact]
    public void A_string_with_a_lone_surrogate_has_no_UTF8_form()
    {
        Assert.Equal(5, DataMessage.Utf8Length("é✓", "text")); // 2 + 3 bytes
        var e = Assert.Throws<ArgumentException>(() => DataMessage.Utf8Length("a\uD800b", "text"));
        Assert.Equal("text", e.ParamName);
    }
}
