using System.Net.Sockets;
using System.Text;
using AspNetWebSockets.Hosting;
using AspNetWebSockets.TestShared;
using AspNetWebSockets.Transport;
using AspNetWebSockets.Transport.Linux;
using Microsoft.AspNetCore.Http;

namespace AspNetWebSockets.IntegrationTests.Hosting;

/// <summary>
/// Lean connections (<see cref="WebSocketServerOptions.LeanConnections"/>): Kestrel over our epoll transport serves plain
/// HTTP as before, and an upgraded WebSocket leaves Kestrel — the request ends, the socket goes on — holding no buffer
/// while idle. The whole integration suite also runs over this transport (<see cref="TransportMode.KestrelLean"/>).
/// </summary>
public sealed class LeanConnectionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Plain_http_is_served_by_the_lean_transport_with_keep_alive_and_large_bodies_both_ways()
    {
        byte[] large = new byte[3 * 1024 * 1024];
        Random.Shared.NextBytes(large);
        await using TestApp app = await TestApp.StartAsync(TransportMode.KestrelLean, a =>
        {
            a.MapGet("/transport", (HttpContext context) => context.Features.Get<IEpollHandOverFeature>() is null ? "other" : "lean");
            a.MapGet("/large", () => Results.Bytes(large));
            a.MapPost("/length", async (HttpRequest request) =>
            {
                long total = 0;
                byte[] buffer = new byte[16 * 1024];
                int read;
                while ((read = await request.Body.ReadAsync(buffer, Ct)) > 0)
                {
                    total += read;
                }

                return total.ToString(System.Globalization.CultureInfo.InvariantCulture);
            });
        });
        using var client = new HttpClient { BaseAddress = app.HttpAddress };

        // Three requests on one kept-alive connection, then a response and a request body far larger than the
        // socket buffers (sends that wait for EPOLLOUT, receives that pause and resume).
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal("lean", await client.GetStringAsync("/transport", Ct));
        }

        Assert.Equal(large, await client.GetByteArrayAsync("/large", Ct));
        using HttpResponseMessage posted = await client.PostAsync("/length", new ByteArrayContent(large), Ct);
        Assert.Equal(large.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), await posted.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task An_upgraded_connection_leaves_the_request_which_ends_while_the_websocket_goes_on()
    {
        var requestEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = new TaskCompletionSource<WebSocketConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(TransportMode.KestrelLean, a =>
        {
            a.Use(async (context, next) =>
            {
                await next(context);
                if (context.Request.Path == "/echo")
                {
                    requestEnded.TrySetResult();
                }
            });
            a.MapWebSocket("/echo", async (WebSocketConnection socket) =>
            {
                server.TrySetResult(socket);
                await foreach (WebSocketMessage message in socket.ReadAllAsync())
                {
                    await socket.SendAsync(message.Data, message.Type);
                }
            });
        });
        await using WebSocketConnection client = await app.ConnectAsync("/echo");

        await client.SendTextAsync("before", Ct);
        using (WebSocketMessage? echo = await client.ReceiveAsync(Ct))
        {
            Assert.Equal("before", echo?.GetText());
        }

        await requestEnded.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        WebSocketConnection serverSide = await server.Task.WaitAsync(Ct);
        LeanTransport transport = Assert.IsType<LeanTransport>(serverSide.Transport);

        // One object per idle connection besides the socket: the transport is its own output and the socket its own input.
        Assert.Same(transport, ((System.IO.Pipelines.IDuplexPipe)transport).Output);
        Assert.Same(transport.Socket, ((System.IO.Pipelines.IDuplexPipe)transport).Input);

        await client.SendTextAsync("after the request ended", Ct);
        using (WebSocketMessage? echo = await client.ReceiveAsync(Ct))
        {
            Assert.Equal("after the request ended", echo?.GetText());
        }

        // Idle again: the socket holds no receive and no send buffer.
        await HostingAssert.EventuallyAsync(() => !transport.Socket.HoldsBuffers, "an idle lean connection still holds a buffer");
        Assert.False(transport.Socket.HoldsReadWaiter); // Kestrel's reads made one; the WebSocket waits without a read

        await client.CloseAsync(WebSocketCloseCode.NormalClosure, "bye", Ct);
        WebSocketCloseInfo closed = await client.Closed.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.True(closed.WasClean);
        Assert.Equal(WebSocketCloseCode.NormalClosure, closed.Code);
        await HostingAssert.EventuallyAsync(() => transport.Socket.Descriptor < 0, "the lean socket was not closed after the close handshake");
    }

    [Fact]
    public async Task After_a_wait_for_input_the_receive_runs_in_the_handlers_execution_context()
    {
        // A lean socket runs ReadAllAsync's wait as a work item on its loop (or the thread pool): the receive it resumes,
        // and what that receive logs, must still see the handler's AsyncLocal values, as after an await.
        var scope = new AsyncLocal<string>();
        var violations = new System.Collections.Concurrent.ConcurrentQueue<string?>();
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(
            TransportMode.KestrelLean,
            a => a.MapWebSocket("/context", async (WebSocketConnection socket) =>
            {
                scope.Value = "handler";
                await using IAsyncEnumerator<WebSocketMessage> messages = socket.ReadAllAsync().GetAsyncEnumerator();
                ValueTask<bool> next = messages.MoveNextAsync();
                waiting.TrySetResult();
                while (await next)
                {
                    next = messages.MoveNextAsync();
                }
            }),
            services: s => s.AddLogging(l => l.AddProvider(new ContextLoggerProvider(() => scope.Value, violations))));
        using RawWebSocketClient client = await RawWebSocketClient.ConnectAsync(app.HttpAddress, "/context");
        await waiting.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        await Task.Delay(100, Ct); // the handler is waiting for input now, with nothing buffered

        // A reserved opcode, which the receive the wait resumes logs as a violation (and closes with 1002).
        await client.SendAsync(new byte[] { 0x83, 0x80, 1, 2, 3, 4 }, Ct);
        Assert.Equal(1002, await client.ReadUntilCloseAsync());
        await HostingAssert.EventuallyAsync(() => !violations.IsEmpty, "the server logged no protocol violation");
        Assert.All(violations, context => Assert.Equal("handler", context));
    }

    [Fact]
    public async Task A_cancelled_wait_for_the_next_message_ends_that_enumeration_only_and_the_socket_reads_on()
    {
        // The token of ReadAllAsync ends a wait for the next message on a lean socket (whether it cancels before or after the
        // wait began) and only that enumeration: the socket reads on for the next one.
        await using TestApp app = await TestApp.StartAsync(TransportMode.KestrelLean, a => a.MapWebSocket("/cancel", async (WebSocketConnection socket) =>
        {
            for (int round = 0; round < 20; round++)
            {
                using var idle = new CancellationTokenSource(TimeSpan.FromMilliseconds(round % 2 == 0 ? 20 : 1));
                try
                {
                    await foreach (WebSocketMessage message in socket.ReadAllAsync(idle.Token))
                    {
                        await socket.SendTextAsync("early " + message.GetText());
                    }

                    return; // closed
                }
                catch (OperationCanceledException) when (idle.IsCancellationRequested)
                {
                    await socket.SendTextAsync("cancelled " + round);
                }
            }

            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                await socket.SendTextAsync("echo " + message.GetText());
            }
        }));
        await using WebSocketConnection client = await app.ConnectAsync("/cancel");

        for (int round = 0; round < 20; round++)
        {
            using WebSocketMessage? cancelled = await client.ReceiveAsync(Ct);
            Assert.Equal("cancelled " + round, cancelled?.GetText());
        }

        await client.SendTextAsync("after", Ct);
        using WebSocketMessage? echo = await client.ReceiveAsync(Ct);
        Assert.Equal("echo after", echo?.GetText());
    }

    [Fact]
    public async Task A_handler_that_takes_the_HttpContext_stays_on_the_classic_path_and_keeps_its_request()
    {
        var server = new TaskCompletionSource<WebSocketConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(TransportMode.KestrelLean, a => a.MapWebSocket("/ctx", async (WebSocketConnection socket, HttpContext context) =>
        {
            server.TrySetResult(socket);
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                await socket.SendTextAsync(context.Request.Path.Value!);
            }
        }));
        await using WebSocketConnection client = await app.ConnectAsync("/ctx");

        await client.SendTextAsync("where?", Ct);
        using WebSocketMessage? echo = await client.ReceiveAsync(Ct);

        Assert.Equal("/ctx", echo?.GetText());
        Assert.IsNotType<LeanTransport>((await server.Task.WaitAsync(Ct)).Transport);
    }

    [Fact]
    public async Task Scoped_services_live_as_long_as_the_lean_connection_not_as_the_request()
    {
        await using TestApp app = await TestApp.StartAsync(
            TransportMode.KestrelLean,
            a => a.MapWebSocket("/scoped", async (WebSocketConnection socket, ScopedProbe probe) =>
            {
                await foreach (WebSocketMessage message in socket.ReadAllAsync())
                {
                    await socket.SendTextAsync(probe.Disposed ? "disposed" : "alive");
                }
            }),
            services: s => s.AddScoped<ScopedProbe>());
        await using WebSocketConnection client = await app.ConnectAsync("/scoped");
        await client.SendTextAsync("first", Ct);
        using (WebSocketMessage? first = await client.ReceiveAsync(Ct))
        {
            Assert.Equal("alive", first?.GetText());
        }

        // By now the request has ended (and its own scope with it).
        await Task.Delay(200, Ct);
        await client.SendTextAsync("second", Ct);
        using WebSocketMessage? second = await client.ReceiveAsync(Ct);
        Assert.Equal("alive", second?.GetText());
    }

    [Fact]
    public async Task Shutdown_closes_lean_connections_with_1001_and_waits_for_their_handlers()
    {
        var handlerFinished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        TestApp app = await TestApp.StartAsync(TransportMode.KestrelLean, a => a.MapWebSocket("/wait", async (WebSocketConnection socket) =>
        {
            try
            {
                await foreach (WebSocketMessage message in socket.ReadAllAsync())
                {
                    await socket.SendAsync(message.Data, message.Type);
                }

                await Task.Delay(100, CancellationToken.None); // cleanup after the close, which shutdown must wait for
            }
            finally
            {
                handlerFinished.TrySetResult();
            }
        }));
        WebSocketConnection client = await app.ConnectAsync("/wait");
        await client.SendTextAsync("ping", Ct);
        (await client.ReceiveAsync(Ct))?.Dispose();
        _ = client.ReceiveAsync(Ct).AsTask(); // answers the server's close

        await app.DisposeAsync();

        Assert.True(handlerFinished.Task.IsCompleted, "shutdown returned before the lean connection's handler finished");
        WebSocketCloseInfo closed = await client.Closed.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal(WebSocketCloseCode.GoingAway, closed.Code);
        await client.DisposeAsync();
    }

    [Fact]
    public async Task A_socket_whose_request_came_late_holds_no_waiting_read_once_the_websocket_owns_it()
    {
        // Kestrel's first read waits for a request that comes late, which makes the socket's waiting-read machinery; the
        // hand-over lets go of it, since the WebSocket waits for input without a read (88 bytes per idle connection).
        var server = new TaskCompletionSource<WebSocketConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(TransportMode.KestrelLean, a => a.MapWebSocket("/idle", async (WebSocketConnection socket) =>
        {
            server.TrySetResult(socket);
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                await socket.SendAsync(message.Data, message.Type);
            }
        }));

        using Socket client = await RawUpgradeAsync(app, pauseBeforeRequest: TimeSpan.FromMilliseconds(200));
        EpollSocket socket = Assert.IsType<LeanTransport>((await server.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct)).Transport).Socket;
        Assert.False(socket.HoldsReadWaiter);

        // The WebSocket still reads and echoes, and idles again without one.
        await client.SendAsync(Frames.Text("hi"), SocketFlags.None, Ct);
        byte[] echo = new byte[16];
        int received = 0;
        while (received < 4)
        {
            int n = await client.ReceiveAsync(echo.AsMemory(received), SocketFlags.None, Ct);
            Assert.True(n > 0, "the server closed instead of echoing");
            received += n;
        }

        Assert.Equal([0x81, 2, (byte)'h', (byte)'i'], echo[..4]);
        await HostingAssert.EventuallyAsync(() => !socket.HoldsBuffers, "an idle lean connection still holds a buffer");
        Assert.False(socket.HoldsReadWaiter);
    }

    [Fact]
    public async Task Peers_that_vanish_leave_no_connection_and_no_descriptor_behind()
    {
        const int Count = 2000;
        await using TestApp app = await TestApp.StartAsync(TransportMode.KestrelLean, a => a.MapWebSocket("/idle", async (WebSocketConnection socket) =>
        {
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                await socket.SendAsync(message.Data, message.Type);
            }
        }));
        WebSocketServer server = app.App.Services.GetRequiredService<WebSocketServer>();
        int descriptorsBefore = Directory.GetFiles("/proc/self/fd").Length;

        var sockets = new List<Socket>(Count);
        try
        {
            for (int i = 0; i < Count; i++)
            {
                sockets.Add(await RawUpgradeAsync(app));
            }

            await HostingAssert.EventuallyAsync(() => server.ConnectionCount == Count, $"expected {Count} open connections");

            // Half reset, half just close: the server must notice both without a keep-alive ping.
            for (int i = 0; i < sockets.Count; i++)
            {
                if (i % 2 == 0)
                {
                    sockets[i].LingerState = new LingerOption(true, 0);
                }

                sockets[i].Dispose();
            }

            await HostingAssert.EventuallyAsync(() => server.ConnectionCount == 0, "vanished peers left connections open");
            // The runtime may open a few descriptors of its own meanwhile (more socket engines for 2,000 client sockets,
            // timers); one left per connection would be thousands.
            await HostingAssert.EventuallyAsync(() => Directory.GetFiles("/proc/self/fd").Length <= descriptorsBefore + 50, "vanished peers left descriptors open");
            int left = Directory.GetFiles("/proc/self/fd").Length - descriptorsBefore;
            TestContext.Current.TestOutputHelper?.WriteLine($"descriptors: {descriptorsBefore} before, {left:+0;-0;0} after {Count} connections came and went");
        }
        finally
        {
            foreach (Socket socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    [Fact]
    public async Task Messages_that_arrive_with_the_peers_hang_up_are_all_delivered_before_the_end()
    {
        // A short read ends the socket's receive (the next bytes raise a new edge); a hang-up that came with the data must
        // still be read to the end, and bytes that come after a short read must still wake the socket. Whether the FIN is
        // queued with the data when the loop reads is up to timing, so this guards both orders without forcing either.
        // What each connection's handler read before its loop ended (the loop ends at the end of the input).
        var ended = new System.Collections.Concurrent.ConcurrentQueue<List<string>>();
        await using TestApp app = await TestApp.StartAsync(TransportMode.KestrelLean, a => a.MapWebSocket("/idle", async (WebSocketConnection socket) =>
        {
            var received = new List<string>();
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                received.Add(message.GetText());
            }

            ended.Enqueue(received);
        }));

        using (Socket together = await RawUpgradeAsync(app))
        {
            // Three messages and the FIN at once.
            await together.SendAsync((byte[])[.. Frames.Text("a"), .. Frames.Text("b"), .. Frames.Text("c")], SocketFlags.None, Ct);
            together.Shutdown(SocketShutdown.Send);
            await HostingAssert.EventuallyAsync(() => !ended.IsEmpty, "the hang-up that came with the data was not seen");
        }

        Assert.True(ended.TryDequeue(out List<string>? first));
        Assert.Equal(["a", "b", "c"], first);

        using (Socket apart = await RawUpgradeAsync(app))
        {
            // Half a frame, a pause (the server's read is short), the rest with a close frame, then the FIN.
            byte[] frame = Frames.Text("split");
            await apart.SendAsync(frame.AsMemory(0, 4), SocketFlags.None, Ct);
            await Task.Delay(100, Ct);
            await apart.SendAsync((byte[])[.. frame.AsSpan(4), .. Frames.Close(1000)], SocketFlags.None, Ct);
            apart.Shutdown(SocketShutdown.Send);
            await HostingAssert.EventuallyAsync(() => !ended.IsEmpty, "the peer's close was not seen");
        }

        Assert.True(ended.TryDequeue(out List<string>? second));
        Assert.Equal(["split"], second);
    }

    private static async Task<Socket> RawUpgradeAsync(TestApp app, TimeSpan pauseBeforeRequest = default)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(app.HttpAddress.Host, app.HttpAddress.Port, Ct);
        if (pauseBeforeRequest > TimeSpan.Zero)
        {
            await Task.Delay(pauseBeforeRequest, Ct);
        }

        string request = $"GET /idle HTTP/1.1\r\nHost: {app.HttpAddress.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        await socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None, Ct);
        byte[] response = new byte[1024];
        int received = 0;
        while (!Encoding.ASCII.GetString(response, 0, received).Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            int n = await socket.ReceiveAsync(response.AsMemory(received), SocketFlags.None, Ct);
            Assert.True(n > 0, "the server closed during the handshake");
            received += n;
        }

        Assert.StartsWith("HTTP/1.1 101", Encoding.ASCII.GetString(response, 0, received), StringComparison.Ordinal);
        return socket;
    }

    public sealed class ScopedProbe : IDisposable
    {
        public bool Disposed { get; private set; }

        public void Dispose() => Disposed = true;
    }

    /// <summary>Records, for every ProtocolViolation the library logs, the value <paramref name="context"/> reads at that moment.</summary>
    private sealed class ContextLoggerProvider(Func<string?> context, System.Collections.Concurrent.ConcurrentQueue<string?> violations) : ILoggerProvider, ILogger
    {
        public ILogger CreateLogger(string categoryName) => categoryName == "AspNetWebSockets" ? this : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Name == "ProtocolViolation")
            {
                violations.Enqueue(context());
            }
        }

        public void Dispose()
        {
        }
    }
}
