using System.Net.WebSockets;
using AspNetWebSockets.Protocol;
using AspNetWebSockets.Tests.Protocol;
using Microsoft.Extensions.Logging;

namespace AspNetWebSockets.Tests.Connection;

/// <summary>
/// A peer that sends its close frame and then drops the TCP connection at once — a browser closing a tab does — has
/// closed cleanly: the connection reports its code as clean and logs no transport failure, although our close echo
/// can no longer be written.
/// </summary>
public sealed class CleanCloseThenDropTests
{
    [Fact]
    public async Task A_peer_that_drops_the_connection_right_after_its_close_frame_is_not_logged_as_a_transport_failure()
    {
        var logger = new RecordingLogger();
        await using var peer = new InMemoryPeer(logger: logger);

        await peer.WriteAsync(Frames.Masked(WebSocketOpcode.Close, true, [0x03, 0xE9])); // 1001, going away
        await peer.DropAsync(); // before the server has read the close frame: its echo finds the transport closed
        Assert.Null(await peer.Connection.ReceiveAsync(TestContext.Current.CancellationToken));
        WebSocketCloseInfo info = await peer.Connection.Closed.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(1001, info.Code);
        Assert.True(info.WasClean);
        Assert.Contains(logger.Entries, e => e.EventId.Name == "ConnectionClosed");
        Assert.DoesNotContain(logger.Entries, e => e.Exception is not null);
        Assert.DoesNotContain(logger.Entries, e => e.EventId.Name == "TransportFailed");
    }

    [Fact]
    public async Task A_peer_that_drops_the_connection_without_a_close_frame_is_still_logged_as_a_transport_failure()
    {
        var logger = new RecordingLogger();
        await using var peer = new InMemoryPeer(logger: logger);

        await peer.DropAsync();
        await Assert.ThrowsAsync<WebSocketException>(async () =>
            await peer.Connection.SendTextAsync("are you there?", TestContext.Current.CancellationToken));
        WebSocketCloseInfo info = await peer.Connection.Closed.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(1006, info.Code);
        Assert.False(info.WasClean);
        Assert.Contains(logger.Entries, e => e.EventId.Name == "TransportFailed" && e.Exception is not null && e.Level <= LogLevel.Debug);
    }
}
