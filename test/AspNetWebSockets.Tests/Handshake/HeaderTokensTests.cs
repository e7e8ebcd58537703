using AspNetWebSockets.Handshake;
using Microsoft.Extensions.Primitives;
using Xunit;
using static AspNetWebSockets.Tests.Handshake.HandshakeRequests;

namespace AspNetWebSockets.Tests.Handshake;

public class HeaderTokensTests
{
    [Theory]
    [InlineData("websocket", "websocket", true)]
    [InlineData("WebSocket", "websocket", true)]
    [InlineData("keep-alive, Upgrade", "upgrade", true)]
    [InlineData("keep-alive,Upgrade", "upgrade", true)]
    [InlineData("  \tupgrade\t ", "upgrade", true)]
    [InlineData("keep-alive\nupgrade", "upgrade", true)]
    [InlineData(",,,upgrade", "upgrade", true)]
    [InlineData("upgradex", "upgrade", false)]
    [InlineData("xupgrade", "upgrade", false)]
    [InlineData("up grade", "upgrade", false)]
    [InlineData("keep-alive upgrade", "upgrade", false)]
    [InlineData("upgrade;q=1", "upgrade", false)]
    [InlineData("", "upgrade", false)]
    [InlineData(",", "upgrade", false)]
    [InlineData("upgrade", "", false)]
    [InlineData(null, "upgrade", false)]
    public void Contains(string? values, string token, bool expected) =>
        Assert.Equal(expected, HeaderTokens.Contains(Lines(values), token));

    [Fact]
    public void ContainsToleratesNullEntries() =>
        Assert.True(HeaderTokens.Contains(new StringValues([null!, "upgrade"]), "upgrade"));

    // expectedTokens is space-separated: a space can never be part of a token.
    [Theory]
    [InlineData("chat", true, "chat")]
    [InlineData("chat, superchat", true, "chat superchat")]
    [InlineData("chat,superchat", true, "chat superchat")]
    [InlineData(" chat ,\tsuperchat\t", true, "chat superchat")]
    [InlineData("chat\nsuperchat, v3", true, "chat superchat v3")]
    [InlineData("a,,b, ,c,", true, "a b c")]            // empty elements ignored (RFC 7230 §7)
    [InlineData("", true, "")]
    [InlineData(",", true, "")]
    [InlineData("chat, chat", true, "chat chat")]       // duplicates are data, not syntax errors
    [InlineData("v1.chat.example.com", true, "v1.chat.example.com")]
    [InlineData("!#$%&'*+-.^_`|~09AZaz", true, "!#$%&'*+-.^_`|~09AZaz")]
    [InlineData("constructor, __proto__", true, "constructor __proto__")]
    [InlineData("chat v2", false, "")]
    [InlineData("chat;v2", false, "")]
    [InlineData("chat/2", false, "")]
    [InlineData("\"chat\"", false, "")]
    [InlineData("chat,\u00e9", false, "")]
    [InlineData("chat\r\n", false, "")]
    [InlineData("chat\0", false, "")]
    [InlineData("ok\nbad value", false, "")]
    public void TryParseTokenList(string values, bool expected, string expectedTokens)
    {
        var tokens = new List<string> { "existing" };
        Assert.Equal(expected, HeaderTokens.TryParseTokenList(Lines(values), HandshakeValidator.MaxListHeaderLength, tokens));

        // On failure the list is untouched; on success tokens are appended after what was there.
        string[] expectedList = ["existing", .. expectedTokens.Split(' ', StringSplitOptions.RemoveEmptyEntries)];
        Assert.Equal(expectedList, tokens);
        Assert.Equal(expected, HeaderTokens.TryParseTokenList(Lines(values), HandshakeValidator.MaxListHeaderLength, null));
    }

    [Theory]
    [InlineData(10, "0123456789", true)]
    [InlineData(9, "0123456789", false)]
    [InlineData(10, "01234\n56789", true)]  // the cap sums all header lines
    [InlineData(9, "01234\n56789", false)]
    [InlineData(0, "", true)]
    public void TokenListLengthCap(int maxLength, string values, bool expected) =>
        Assert.Equal(expected, HeaderTokens.TryParseTokenList(Lines(values), maxLength, null));

    [Fact]
    public void IsTokenCharMatchesRfc7230()
    {
        const string tchar = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        for (int c = 0; c < 0x3000; c++)
        {
            Assert.Equal(tchar.Contains((char)c, StringComparison.Ordinal), HeaderTokens.IsTokenChar((char)c));
        }
    }
}
