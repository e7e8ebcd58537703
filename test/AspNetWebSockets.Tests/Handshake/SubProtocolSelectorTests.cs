using AspNetWebSockets.Handshake;
using Xunit;

namespace AspNetWebSockets.Tests.Handshake;

public class SubProtocolSelectorTests
{
    [Theory]
    [InlineData("chat.v2|chat.v1", "chat.v1|chat.v2", "chat.v2")]  // server preference beats client order
    [InlineData("chat.v2|chat.v1", "chat.v1", "chat.v1")]
    [InlineData("chat.v1", "chat.v2|chat.v1|chat.v1", "chat.v1")]
    [InlineData("chat", "Chat", null)]                              // case-sensitive
    [InlineData("Chat", "chat|CHAT", null)]
    [InlineData("chat", "chat ", null)]                             // no trimming: offers arrive as parsed tokens
    [InlineData("a|b", "c|d", null)]
    [InlineData("a", "", null)]
    [InlineData("", "a", null)]
    [InlineData("", "", null)]
    public void Select(string server, string client, string? expected)
    {
        string[] serverList = server.Split('|', StringSplitOptions.RemoveEmptyEntries);
        string[] clientList = client.Split('|', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(expected, SubProtocolSelector.Select(serverList, clientList));
    }

    [Fact]
    public void ReturnsTheServersInstance()
    {
        string configured = new(['c', 'h', 'a', 't']);
        string offered = new(['c', 'h', 'a', 't']);
        Assert.Same(configured, SubProtocolSelector.Select([configured], [offered]));
    }

    [Fact]
    public void WorksWithParsedClientHeader()
    {
        var offers = new List<string>();
        Assert.True(HeaderTokens.TryParseTokenList("mqtt, graphql-ws, graphql-transport-ws", HandshakeValidator.MaxListHeaderLength, offers));
        Assert.Equal("graphql-transport-ws", SubProtocolSelector.Select(["graphql-transport-ws", "graphql-ws"], offers));
    }
}
