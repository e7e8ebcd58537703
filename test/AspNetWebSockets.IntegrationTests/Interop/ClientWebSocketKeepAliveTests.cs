using System.Diagnostics;
using System.Net.Sockets;
using static AspNetWebSockets.IntegrationTests.Interop.ClientWebSocketInterop;

namespace AspNetWebSockets.IntegrationTests.Interop;

/// <summary>
/// Server keep-alive against real peers: <see cref="ClientWebSocket"/> answering pings keeps the connection up even
/// while the server application is not reading; a raw TCP peer that never answers is detected and dropped as 1006.
/// </summary>
public sealed class ClientWebSocketKeepAliveTests
{
    [Theory]
    [MemberData(nameof(KestrelModes), MemberType = typeof(ClientWebSocketInterop))]
    public async Task ClientWebSocket_answering_pings_stays_connected_while_the_server_handler_is_not_reading(TransportMode mode)
    {
        var server = new TaskCompletionSource<WebSocketConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(
            mode,
            a => a.MapWebSocket("/idle", async (WebSocketConnection socket, CancellationToken ct) =>
            {
                server.SetResult(socket);

                // Not reading: only the keep-alive sees the client's pongs.
                await Task.WhenAny(release.Task, Task.Delay(Timeout.Infinite, ct));
            }),
            o =>
            {
                o.KeepAliveInterval = TimeSpan.FromMilliseconds(200);
                o.KeepAliveTimeout = TimeSpan.FromSeconds(1);
            });
        using ClientWebSocket client = await ConnectAsync(app, "/idle"); // client keep-alive off: it only answers
        using CancellationTokenSource bound = Bound(15);
        WebSocketConnection socket = await server.Task.WaitAsync(bound.Token);

        // ClientWebSocket answers pings only while a receive is pending, so keep one pending throughout.
        Task<ClientMessage> pending = client.ReceiveMessageAsync(bound.Token);
        await Task.Delay(TimeSpan.FromSeconds(3), bound.Token);

        Assert.False(socket.Closed.IsCompleted, "the server closed the connection while the client was answering pings");
        Assert.Equal(WebSocketReadyState.Open, socket.ReadyState);
        Assert.False(pending.IsCompleted, "the client's receive ended early");
        Assert.Equal(WebSocketState.Open, client.State);

        release.SetResult(); // the handler returns: the server closes with 1000
        ClientMessage close = await pending;
        Assert.Equal(WebSocketMessageType.Close, close.Type);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, close.CloseStatus);
        await client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, bound.Token);
        Assert.Equal(WebSocketState.Closed, client.State);
        Assert.Equal(new WebSocketCloseInfo(1000, string.Empty, WasClean: true), await socket.Closed.WaitAsync(bound.Token));
    }

    [Theory]
    [MemberData(nameof(KestrelModes), MemberType = typeof(ClientWebSocketInterop))]
    public async Task ClientWebSocket_without_a_pending_receive_does_not_answer_and_is_dropped(TransportMode mode)
    {
        // The control for the test above: the same setup minus the client's pending receive. It shows the server really
        // pings and times out here, so the connection surviving above is the pongs' doing.
        var server = new TaskCompletionSource<WebSocketConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(
            mode,
            a => a.MapWebSocket("/idle", async (WebSocketConnection socket, CancellationToken ct) =>
            {
                server.SetResult(socket);
                try
                {
                    await Task.Delay(Timeout.Infinite, ct);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    // The keep-alive dropped the connection.
                }
            }),
            o =>
            {
                o.KeepAliveInterval = TimeSpan.FromMilliseconds(200);
                o.KeepAliveTimeout = TimeSpan.FromSeconds(1);
            });
        using ClientWebSocket client = await ConnectAsync(app, "/idle");
        using CancellationTokenSource bound = Bound(15);
        WebSocketConnection socket = await server.Task.WaitAsync(bound.Token);

        WebSocketCloseInfo closed = await socket.Closed.WaitAsync(TimeSpan.FromSeconds(10), bound.Token);

        Assert.Equal(new WebSocketCloseInfo(1006, string.Empty, WasClean: false), closed);

        // The client, reading only now, finds the server's unanswered pings and then the dropped connection.
        Exception? failure = await Record.ExceptionAsync(async () =>
        {
            ClientMessage message = await client.ReceiveMessageAsync(bound.Token);
            Assert.Equal(WebSocketMessageType.Close, message.Type);
        });
        Assert.True(failure is null or WebSocketException, $"unexpected {failure}");
        Assert.Contains(client.State, new[] { WebSocketState.Aborted, WebSocketState.Closed });
    }

    public static TheoryData<TransportMode, bool> ModesAndReading()
    {
        var data = new TheoryData<TransportMode, bool>();
        foreach (TransportMode mode in new[] { TransportMode.KestrelPipes, TransportMode.KestrelStream })
        {
            data.Add(mode, false);
            data.Add(mode, true);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ModesAndReading))]
    public async Task Silent_raw_tcp_peer_is_dropped_as_1006(TransportMode mode, bool handlerReads)
    {
        var server = new TaskCompletionSource<WebSocketConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        var handlerDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(
            mode,
            a => a.MapWebSocket("/silent", async (WebSocketConnection socket, CancellationToken ct) =>
            {
                server.SetResult(socket);
                try
                {
                    if (handlerReads)
                    {
                        await foreach (WebSocketMessage _ in socket.ReadAllAsync())
                        {
                        }
                    }
                    else
                    {
                        await Task.Delay(Timeout.Infinite, ct);
                    }
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    // The connection closed: the handler's token fired.
                }
                finally
                {
                    handlerDone.SetResult();
                }
            }),
            o =>
            {
                o.KeepAliveInterval = TimeSpan.FromMilliseconds(200);
                o.KeepAliveTimeout = TimeSpan.FromMilliseconds(500);
            });
        using CancellationTokenSource bound = Bound(15);
        var elapsed = Stopwatch.StartNew();
        using Socket peer = await RawHandshakeAsync(app, "/silent", bound.Token);
        WebSocketConnection socket = await server.Task.WaitAsync(bound.Token);

        // The peer never reads or answers; the server must notice on its own.
        WebSocketCloseInfo closed = await socket.Closed.WaitAsync(TimeSpan.FromSeconds(10), bound.Token);

        Assert.Equal(new WebSocketCloseInfo(1006, string.Empty, WasClean: false), closed);
        Assert.True(elapsed.Elapsed >= TimeSpan.FromMilliseconds(500), $"dropped after {elapsed.ElapsedMilliseconds} ms, before a ping could have timed out");
        Assert.Equal(WebSocketReadyState.Closed, socket.ReadyState);
        await handlerDone.Task.WaitAsync(TimeSpan.FromSeconds(5), bound.Token); // the handler's read loop or token ended too

        // What the peer was sent: the 101 was consumed; now only pings (0x89, unmasked, empty) and nothing else, then the end.
        byte[] received = new byte[1024];
        int total = 0;
        while (total < received.Length)
        {
            int read;
            try
            {
                read = await peer.ReceiveAsync(received.AsMemory(total), SocketFlags.None, bound.Token);
            }
            catch (SocketException)
            {
                break; // reset: the server aborted
            }

            if (read == 0)
            {
                break;
            }

            total += read;
        }

        // Only whole, unmasked pings: keep-alive pings carry their send time (8 bytes) so their pongs measure the round trip.
        Assert.True(total >= 2, "the server never pinged");
        int at = 0;
        while (at < total)
        {
            Assert.Equal(0x89, received[at]);
            Assert.InRange(received[at + 1], 0, 125);
            at += 2 + received[at + 1];
        }

        Assert.Equal(total, at);
    }
}
