namespace AspNetWebSockets.IntegrationTests.Interop;

/// <summary>permessage-deflate (RFC 7692) against ClientWebSocket's own implementation, across its window and context-takeover settings.</summary>
public sealed class ClientWebSocketCompressionTests
{
    private static void MapCompressedEcho(WebApplication app) =>
        app.MapWebSocket("/echo", async (WebSocketConnection socket) =>
        {
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                await socket.SendAsync(message.Data, message.Type);
            }
        }).WithCompression();

    private static byte[] Compressible(int length)
    {
        const string Json = "{\"id\":42,\"name\":\"websocket\",\"ok\":true}";
        byte[] data = new byte[length];
        for (int i = 0; i < length; i++)
        {
            data[i] = (byte)Json[i % Json.Length];
        }

        return data;
    }

    private static byte[] Random(int length, int seed)
    {
        byte[] data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    public static TheoryData<int, bool, int, bool> DeflateOptionCombinations()
    {
        var data = new TheoryData<int, bool, int, bool>();
        foreach (int clientBits in new[] { 9, 12, 15 })
        {
            foreach (int serverBits in new[] { 9, 15 })
            {
                foreach (bool clientTakeover in new[] { true, false })
                {
                    foreach (bool serverTakeover in new[] { true, false })
                    {
                        data.Add(clientBits, clientTakeover, serverBits, serverTakeover);
                    }
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(DeflateOptionCombinations))]
    public async Task Every_combination_of_window_bits_and_context_takeover_round_trips(int clientBits, bool clientTakeover, int serverBits, bool serverTakeover)
    {
        await using TestApp app = await TestApp.StartAsync(TransportMode.KestrelPipes, MapCompressedEcho, o => o.MaxMessageSize = 2 * 1024 * 1024);
        using ClientWebSocket client = await ClientWebSocketInterop.ConnectAsync(app, "/echo", o =>
        {
            o.CollectHttpResponseDetails = true;
            o.DangerousDeflateOptions = new WebSocketDeflateOptions
            {
                ClientMaxWindowBits = clientBits,
                ClientContextTakeover = clientTakeover,
                ServerMaxWindowBits = serverBits,
                ServerContextTakeover = serverTakeover,
            };
        });
        using CancellationTokenSource bound = ClientWebSocketInterop.Bound(10);

        // The client validated our response: it only completes the handshake when the parameters are legal for its offer.
        Assert.StartsWith("permessage-deflate", client.HttpResponseHeaders?["Sec-WebSocket-Extensions"].FirstOrDefault() ?? string.Empty, StringComparison.Ordinal);

        byte[][] messages = [[], [7], Compressible(125), Compressible(64 * 1024), Random(64 * 1024, 1), Compressible(1024 * 1024), Compressible(64 * 1024)];
        foreach (byte[] message in messages)
        {
            await client.SendAsync(message, WebSocketMessageType.Binary, endOfMessage: true, bound.Token);
            ClientMessage echo = await client.ReceiveMessageAsync(bound.Token);
            Assert.True(WebSocketMessageType.Binary == echo.Type, $"message of {message.Length} bytes came back as {echo.Type} {echo.CloseStatus} {echo.CloseDescription}");
            Assert.Equal(message, echo.Data);
        }

        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", bound.Token);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
    }

    [Theory]
    [MemberData(nameof(ClientWebSocketInterop.KestrelModes), MemberType = typeof(ClientWebSocketInterop))]
    public async Task Fragmented_compressed_text_and_per_message_opt_out(TransportMode mode)
    {
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/echo", async (WebSocketConnection socket) =>
        {
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                // Echo twice: once compressed, once explicitly not (e.g. for already-compressed or secret-bearing data).
                await socket.SendAsync(message.Data, message.Type);
                await socket.SendAsync(message.Data, message.Type, compress: false);
            }
        }).WithCompression());
        using ClientWebSocket client = await ClientWebSocketInterop.ConnectAsync(app, "/echo", o => o.DangerousDeflateOptions = new WebSocketDeflateOptions());
        using CancellationTokenSource bound = ClientWebSocketInterop.Bound(30);
        byte[] text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("compressible text with ✓ and 👋 ", 500)));

        // ClientWebSocket compresses each fragment as part of one message (RSV1 on the first frame only).
        int third = text.Length / 3;
        await client.SendAsync(text.AsMemory(0, third), WebSocketMessageType.Text, endOfMessage: false, bound.Token);
        await client.SendAsync(text.AsMemory(third, third), WebSocketMessageType.Text, endOfMessage: false, bound.Token);
        await client.SendAsync(text.AsMemory(2 * third), WebSocketMessageType.Text, endOfMessage: true, bound.Token);

        for (int i = 0; i < 2; i++)
        {
            ClientMessage echo = await client.ReceiveMessageAsync(bound.Token);
            Assert.Equal(WebSocketMessageType.Text, echo.Type);
            Assert.Equal(text, echo.Data);
        }
    }

    [Theory]
    [MemberData(nameof(ClientWebSocketInterop.KestrelModes), MemberType = typeof(ClientWebSocketInterop))]
    public async Task A_deflate_bomb_is_stopped_at_MaxMessageSize_with_1009(TransportMode mode)
    {
        var serverClosed = new TaskCompletionSource<WebSocketCloseInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/echo", async (WebSocketConnection socket) =>
        {
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
            }

            serverClosed.SetResult(await socket.Closed);
        }).WithCompression(), o => o.MaxMessageSize = 1024 * 1024);
        using ClientWebSocket client = await ClientWebSocketInterop.ConnectAsync(app, "/echo", o => o.DangerousDeflateOptions = new WebSocketDeflateOptions());
        using CancellationTokenSource bound = ClientWebSocketInterop.Bound(30);

        // ADVISORIES #8: 10 MB of zeros travels as ~10 KB; the limit applies to the inflated size.
        byte[] zeros = new byte[10 * 1000 * 1000];
        await client.SendAsync(zeros, WebSocketMessageType.Binary, endOfMessage: true, bound.Token);
        ClientMessage reply = await client.ReceiveMessageAsync(bound.Token);

        Assert.Equal(WebSocketMessageType.Close, reply.Type);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, reply.CloseStatus);
        WebSocketCloseInfo closed = await serverClosed.Task.WaitAsync(bound.Token);
        Assert.Equal(1009, closed.Code);
    }

    [Fact]
    public async Task Compression_stays_off_unless_enabled()
    {
        await using TestApp app = await TestApp.StartAsync(TransportMode.KestrelPipes, a => a.MapWebSocket("/plain", (WebSocketConnection socket) => socket.CloseAsync()));
        using ClientWebSocket client = await ClientWebSocketInterop.ConnectAsync(app, "/plain", o =>
        {
            o.DangerousDeflateOptions = new WebSocketDeflateOptions();
            o.CollectHttpResponseDetails = true;
        });

        Assert.False(client.HttpResponseHeaders?.ContainsKey("Sec-WebSocket-Extensions") ?? false);
    }

    [Fact]
    public async Task Server_wide_option_enables_compression_and_an_endpoint_can_opt_out()
    {
        await using TestApp app = await TestApp.StartAsync(
            TransportMode.KestrelPipes,
            a =>
            {
                a.MapWebSocket("/on", (WebSocketConnection socket) => socket.CloseAsync());
                a.MapWebSocket("/off", (WebSocketConnection socket) => socket.CloseAsync()).WithCompression(false);
            },
            o => o.Compression.Enabled = true);

        foreach ((string path, bool expected) in new[] { ("/on", true), ("/off", false) })
        {
            using ClientWebSocket client = await ClientWebSocketInterop.ConnectAsync(app, path, o =>
            {
                o.DangerousDeflateOptions = new WebSocketDeflateOptions();
                o.CollectHttpResponseDetails = true;
            });
            Assert.Equal(expected, client.HttpResponseHeaders?.ContainsKey("Sec-WebSocket-Extensions") ?? false);
        }
    }
}
