namespace AspNetWebSockets.Tests.Connection;

/// <summary>
/// <see cref="WebSocketConnection.CreateClient"/>, the public entry the Testing package builds its clients on (their
/// end-to-end behaviour is covered by the integration tests); here its argument checks and initial state.
/// </summary>
public sealed class CreateClientTests
{
    [Fact]
    public async Task A_client_connection_starts_open_with_the_selected_subprotocol()
    {
        await using WebSocketConnection client = WebSocketConnection.CreateClient(new MemoryStream(), "chat.v1", 1024, TimeSpan.FromSeconds(1));

        Assert.Equal(WebSocketReadyState.Open, client.ReadyState);
        Assert.Equal("chat.v1", client.Protocol);
        Assert.Equal(string.Empty, client.Extensions);
        client.Abort();
    }

    [Fact]
    public void Invalid_arguments_are_refused()
    {
        Assert.Throws<ArgumentNullException>(() => WebSocketConnection.CreateClient(null!, null, 1024, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => WebSocketConnection.CreateClient(new MemoryStream(), null, 0, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => WebSocketConnection.CreateClient(new MemoryStream(), null, 1024, TimeSpan.FromSeconds(-2)));
    }
}
