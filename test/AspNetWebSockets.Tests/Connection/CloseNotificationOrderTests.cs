using AspNetWebSockets.Protocol;
using AspNetWebSockets.Tests.Protocol;

namespace AspNetWebSockets.Tests.Connection;

/// <summary>
/// <see cref="WebSocketConnection.ConnectionClosed"/> is cancelled, and its callbacks run, before
/// <see cref="WebSocketConnection.Closed"/> completes: whoever awaits Closed finds every close callback done (the
/// connection out of its groups, the request's RequestAborted fired).
/// </summary>
public sealed class CloseNotificationOrderTests
{
    [Fact]
    public async Task Close_callbacks_run_before_Closed_completes_when_the_connection_is_aborted()
    {
        await using var peer = new InMemoryPeer();
        bool? closedDuringCallback = null;
        using CancellationTokenRegistration registration = peer.Connection.ConnectionClosed.Register(
            () => closedDuringCallback = peer.Connection.Closed.IsCompleted);

        peer.Connection.Abort();
        await peer.Connection.Closed.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.False(closedDuringCallback);
    }

    [Fact]
    public async Task Close_callbacks_run_before_Closed_completes_after_a_close_handshake()
    {
        await using var peer = new InMemoryPeer();
        bool? closedDuringCallback = null;
        using CancellationTokenRegistration registration = peer.Connection.ConnectionClosed.Register(
            () => closedDuringCallback = peer.Connection.Closed.IsCompleted);

        await peer.WriteAsync(Frames.Masked(WebSocketOpcode.Close, true, [0x03, 0xE8])); // 1000
        Assert.Null(await peer.Connection.ReceiveAsync(TestContext.Current.CancellationToken));
        WebSocketCloseInfo info = await peer.Connection.Closed.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(1000, info.Code);
        Assert.False(closedDuringCallback);
    }
}
