using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace AspNetWebSockets.IntegrationTests.Compatibility;

/// <summary>
/// The drop-in promise: the same <c>AcceptWebSocketAsync()</c> handler, run on the framework's <c>UseWebSockets()</c> and on
/// our <c>UseAspNetWebSockets()</c>, observes the same things — message types, EndOfMessage, close status and
/// description, State transitions, CloseOutputAsync versus CloseAsync, and exceptions after abort or a dropped peer.
/// </summary>
public sealed class DropInCompatibilityTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<bool> Stacks => new(false, true);

    /// <summary>Runs <paramref name="handler"/> on one stack and returns what it observed (as lines), plus the client-side driver's result.</summary>
    private static async Task<List<string>> RunAsync(bool ours, Func<WebSocket, List<string>, Task> handler, Func<ClientWebSocket, Task> client, string? subProtocol = null)
    {
        var observed = new List<string>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseLoopbackKestrel();
        builder.Logging.ClearProviders();
        if (ours)
        {
            builder.Services.AddWebSockets();
        }

        await using WebApplication app = builder.Build();
        if (ours)
        {
            app.UseAspNetWebSockets();
        }
        else
        {
            app.UseWebSockets();
        }

        app.Run(async context =>
        {
            try
            {
                observed.Add($"IsWebSocketRequest={context.WebSockets.IsWebSocketRequest}");
                using WebSocket socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { SubProtocol = subProtocol });
                observed.Add($"SubProtocol={socket.SubProtocol ?? "(null)"} State={socket.State}");
                await handler(socket, observed);
            }
            catch (Exception e)
            {
                observed.Add($"handler threw {e.GetType().Name}");
            }
            finally
            {
                done.TrySetResult();
            }
        });
        await app.StartAsync(Ct);

        using var ws = new ClientWebSocket();
        if (subProtocol is not null)
        {
            ws.Options.AddSubProtocol(subProtocol);
        }

        using var bound = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bound.CancelAfter(TimeSpan.FromSeconds(15));
        await ws.ConnectAsync(new Uri(new UriBuilder(app.Urls.First()) { Scheme = "ws" }.Uri, "/ws"), bound.Token);
        await client(ws);
        await done.Task.WaitAsync(bound.Token);
        await app.StopAsync(bound.Token);
        return observed;
    }

    private static async Task<List<string>> BothAsync(Func<WebSocket, List<string>, Task> handler, Func<ClientWebSocket, Task> client, string? subProtocol = null)
    {
        List<string> builtIn = await RunAsync(ours: false, handler, client, subProtocol);
        List<string> ours = await RunAsync(ours: true, handler, client, subProtocol);
        Assert.Equal(builtIn, ours); // the drop-in promise: identical observations
        return ours;
    }

    private static async Task<string> ReceiveWholeAsync(WebSocket socket, List<string> observed)
    {
        byte[] buffer = new byte[64 * 1024];
        var data = new MemoryStream();
        while (true)
        {
            WebSocketReceiveResult result = await socket.ReceiveAsync(buffer, CancellationToken.None);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                observed.Add($"close {result.CloseStatus} '{result.CloseStatusDescription}' State={socket.State} CloseStatus={socket.CloseStatus} '{socket.CloseStatusDescription}'");
                return "(close)";
            }

            data.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                string text = Encoding.UTF8.GetString(data.ToArray());
                observed.Add($"{result.MessageType} '{text}'");
                return text;
            }
        }
    }

    [Fact]
    public async Task Messages_fragments_and_a_client_initiated_close_look_the_same()
    {
        List<string> observed = await BothAsync(
            async (socket, seen) =>
            {
                while (await ReceiveWholeAsync(socket, seen) != "(close)")
                {
                }

                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "ok", CancellationToken.None);
                seen.Add($"after CloseAsync State={socket.State}");
            },
            async client =>
            {
                await client.SendAsync(Encoding.UTF8.GetBytes("hello"), WebSocketMessageType.Text, true, Ct);
                await client.SendAsync(Encoding.UTF8.GetBytes("frag"), WebSocketMessageType.Binary, false, Ct);
                await client.SendAsync(Encoding.UTF8.GetBytes("mented"), WebSocketMessageType.Binary, true, Ct);
                await client.CloseAsync((WebSocketCloseStatus)4001, "bye", Ct);
            });

        Assert.Contains("Text 'hello'", observed);
        Assert.Contains("Binary 'fragmented'", observed);
        Assert.Contains("close 4001 'bye' State=CloseReceived CloseStatus=4001 'bye'", observed);
        Assert.Contains("after CloseAsync State=Closed", observed);
    }

    [Fact]
    public async Task CloseOutputAsync_goes_through_CloseSent_and_a_fragmented_send_arrives_whole()
    {
        string? clientSaw = null;
        List<string> observed = await BothAsync(
            async (socket, seen) =>
            {
                await socket.SendAsync(Encoding.UTF8.GetBytes("part one, "), WebSocketMessageType.Text, false, CancellationToken.None);
                await socket.SendAsync(Encoding.UTF8.GetBytes("part two"), WebSocketMessageType.Text, true, CancellationToken.None);
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "server done", CancellationToken.None);
                seen.Add($"after CloseOutputAsync State={socket.State}");
                await ReceiveWholeAsync(socket, seen);
                seen.Add($"after peer close State={socket.State}");
            },
            async client =>
            {
                byte[] buffer = new byte[1024];
                var text = new StringBuilder();
                WebSocketReceiveResult result;
                do
                {
                    result = await client.ReceiveAsync(buffer, Ct);
                    text.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
                }
                while (!result.EndOfMessage);

                clientSaw = text.ToString();
                result = await client.ReceiveAsync(buffer, Ct);
                Assert.Equal(WebSocketMessageType.Close, result.MessageType);
                Assert.Equal("server done", result.CloseStatusDescription);
                await client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "client done", Ct);
            });

        Assert.Equal("part one, part two", clientSaw);
        Assert.Contains("after CloseOutputAsync State=CloseSent", observed);
        Assert.Contains("after peer close State=Closed", observed);
    }

    [Fact]
    public async Task Abort_and_use_after_abort_throw_the_same_way()
    {
        List<string> observed = await BothAsync(
            async (socket, seen) =>
            {
                await socket.ReceiveAsync(new byte[16], CancellationToken.None); // abort only once the client is surely connected
                socket.Abort();
                seen.Add($"after Abort State={socket.State}");
                try
                {
                    await socket.SendAsync(new byte[1], WebSocketMessageType.Binary, true, CancellationToken.None);
                    seen.Add("send after abort succeeded");
                }
                catch (Exception e)
                {
                    seen.Add($"send after abort: {e.GetType().Name}");
                }
            },
            async client =>
            {
                try
                {
                    await client.SendAsync(new byte[1], WebSocketMessageType.Binary, true, Ct);
                    await client.ReceiveAsync(new byte[16], Ct);
                }
                catch (WebSocketException)
                {
                    // The server went away without a close frame: expected.
                }
            });

        Assert.Contains("after Abort State=Aborted", observed);
    }

    [Fact]
    public async Task A_peer_that_drops_the_connection_surfaces_as_ConnectionClosedPrematurely()
    {
        List<string> observed = await BothAsync(
            async (socket, seen) =>
            {
                try
                {
                    await socket.ReceiveAsync(new byte[16], CancellationToken.None);
                    seen.Add("receive returned");
                }
                catch (WebSocketException e)
                {
                    seen.Add($"receive threw {e.WebSocketErrorCode} State={socket.State}");
                }
            },
            client =>
            {
                client.Abort();
                return Task.CompletedTask;
            });

        Assert.Contains("receive threw ConnectionClosedPrematurely State=Aborted", observed);
    }

    [Fact]
    public async Task The_subprotocol_chosen_in_the_accept_context_is_negotiated()
    {
        List<string> observed = await BothAsync(
            (socket, seen) => socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None),
            async client =>
            {
                Assert.Equal("chat.v1", client.SubProtocol);
                await client.ReceiveAsync(new byte[16], Ct);
                await client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, Ct);
            },
            subProtocol: "chat.v1");

        Assert.Contains("SubProtocol=chat.v1 State=Open", observed);
        Assert.Contains("IsWebSocketRequest=True", observed);
    }

    [Fact]
    public async Task AsWebSocket_gives_MapWebSocket_handlers_a_WebSocket_too()
    {
        await using TestApp app = await TestApp.StartAsync(TransportMode.InMemory, a => a.MapWebSocket("/ws", async (WebSocketConnection connection) =>
        {
            WebSocket socket = connection.AsWebSocket();
            byte[] buffer = new byte[64];
            WebSocketReceiveResult result = await socket.ReceiveAsync(buffer, CancellationToken.None);
            await socket.SendAsync(buffer.AsMemory(0, result.Count), result.MessageType, result.EndOfMessage, CancellationToken.None);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "via adapter", CancellationToken.None);
        }));
        await using WebSocketConnection client = await app.ConnectAsync("/ws");

        await client.SendTextAsync("adapted", Ct);
        using (WebSocketMessage? echo = await client.ReceiveAsync(Ct))
        {
            Assert.Equal("adapted", echo?.GetText());
        }

        Assert.Null(await client.ReceiveAsync(Ct));
        Assert.Equal(new WebSocketCloseInfo(1000, "via adapter", WasClean: true), await client.Closed.WaitAsync(TimeSpan.FromSeconds(10), Ct));
    }
}
