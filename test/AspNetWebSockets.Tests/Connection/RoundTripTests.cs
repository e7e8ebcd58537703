using AspNetWebSockets.Protocol;
using AspNetWebSockets.Tests.Protocol;

namespace AspNetWebSockets.Tests.Connection;

/// <summary>PingAsync and the round-trip measurement against a peer that writes raw frames.</summary>
public sealed class RoundTripTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task PingAsync_returns_when_the_matching_pong_arrives_and_keeps_the_round_trip()
    {
        await using var peer = new InMemoryPeer();
        WebSocketConnection connection = peer.Connection;
        Task<TimeSpan> ping = connection.PingAsync(Ct);
        byte[] payload = (await peer.ReadFramesAsync(1)).Single(f => f.Opcode == WebSocketOpcode.Ping).Payload;
        Assert.Equal(8, payload.Length); // the send time

        Task<WebSocketMessage?> reading = connection.ReceiveAsync(Ct).AsTask(); // the receive loop consumes the pong
        await peer.WriteAsync(Frames.Masked(WebSocketOpcode.Pong, true, [1, 2, 3, 4, 5, 6, 7, 8])); // not ours: ignored
        await Task.Delay(50, Ct);
        Assert.False(ping.IsCompleted);
        Assert.Null(connection.RoundTripTime);

        await peer.WriteAsync(Frames.Masked(WebSocketOpcode.Pong, true, payload));
        TimeSpan roundTrip = await ping.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.True(roundTrip > TimeSpan.Zero);
        Assert.Equal(roundTrip, connection.RoundTripTime);

        await peer.WriteAsync(Frames.Masked(WebSocketOpcode.Pong, true, payload)); // a repeat of the same pong measures nothing new
        await peer.WriteAsync(Frames.Masked(WebSocketOpcode.Close, true, Frames.ClosePayload(1000)));
        Assert.Null(await reading.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        Assert.Equal(roundTrip, connection.RoundTripTime);
    }

    [Fact]
    public async Task A_pong_is_matched_while_the_application_is_not_reading()
    {
        var heartbeat = new WebSocketHeartbeat(TimeSpan.FromMilliseconds(20));
        await using var peer = new InMemoryPeer(heartbeat: heartbeat);
        Task<TimeSpan> ping = peer.Connection.PingAsync(Ct);
        byte[] payload = (await peer.ReadFramesAsync(1))[0].Payload;

        await peer.WriteAsync(Frames.Masked(WebSocketOpcode.Pong, true, payload)); // consumed by the idle control reader

        Assert.True(await ping.WaitAsync(TimeSpan.FromSeconds(10), Ct) > TimeSpan.Zero);
        heartbeat.Dispose();
    }

    [Fact]
    public async Task PingAsync_fails_when_the_connection_closes_first_and_refuses_a_closed_connection()
    {
        await using var peer = new InMemoryPeer();
        Task<TimeSpan> ping = peer.Connection.PingAsync(Ct);
        await peer.ReadFramesAsync(1);

        peer.Connection.Abort();

        await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => ping.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() => peer.Connection.PingAsync(Ct));
    }
}
