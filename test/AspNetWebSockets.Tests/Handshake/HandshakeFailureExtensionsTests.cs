using AspNetWebSockets.Handshake;
using Xunit;

namespace AspNetWebSockets.Tests.Handshake;

public class HandshakeFailureExtensionsTests
{
    [Theory]
    [InlineData("None", 101)]
    [InlineData("NotWebSocketUpgrade", 426)]
    [InlineData("MethodNotAllowed", 405)]
    [InlineData("HttpVersionNotSupported", 426)]
    [InlineData("MissingHost", 400)]
    [InlineData("MissingConnectionUpgrade", 400)]
    [InlineData("InvalidKey", 400)]
    [InlineData("DuplicateKey", 400)]
    [InlineData("UnsupportedVersion", 426)]
    [InlineData("InvalidSubProtocolHeader", 400)]
    [InlineData("InvalidExtensionsHeader", 400)]
    [InlineData("RequestBodyNotAllowed", 400)]
    [InlineData("OriginNotAllowed", 403)]
    [InlineData("SubProtocolRequired", 400)]
    [InlineData("UnsupportedConnectProtocol", 400)]
    [InlineData("TooManyConnections", 503)]
    [InlineData("ServerDraining", 503)]
    public void StatusCodes(string failure, int status) =>
        Assert.Equal(status, Enum.Parse<HandshakeFailure>(failure).ToStatusCode());

    [Fact]
    public void EveryValueIsInTheStatusTable()
    {
        // Keeps the table above honest when someone adds an enum member.
        Assert.Equal(17, Enum.GetValues<HandshakeFailure>().Length);
    }

    [Fact]
    public void DescriptionsAreDistinctAndNonEmpty()
    {
        string[] descriptions = [.. Enum.GetValues<HandshakeFailure>().Select(f => f.Describe())];
        Assert.All(descriptions, d => Assert.False(string.IsNullOrWhiteSpace(d)));
        Assert.Equal(descriptions.Length, descriptions.Distinct().Count());
        Assert.Equal("Sec-WebSocket-Key is not 16 bytes of base64", HandshakeFailure.InvalidKey.Describe());
    }

    [Fact]
    public void UnknownValuesDoNotThrow()
    {
        var unknown = (HandshakeFailure)999;
        Assert.Equal(400, unknown.ToStatusCode());
        Assert.False(string.IsNullOrEmpty(unknown.Describe()));
    }
}
