using System.Security.Cryptography;
using static AspNetWebSockets.IntegrationTests.Interop.ClientWebSocketInterop;

namespace AspNetWebSockets.IntegrationTests.Interop;

/// <summary>
/// Data exchange between <see cref="ClientWebSocket"/> (the framework's client, written by nobody on this team) and the
/// server over real Kestrel sockets: echo at the frame-length boundaries, fragmentation both ways, streaming receive,
/// subprotocol selection, and concurrent sends.
/// </summary>
public sealed class ClientWebSocketTests
{
    private static void MapEcho(WebApplication app) =>
        app.MapWebSocket("/echo", async (WebSocketConnection socket) =>
        {
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                await socket.SendAsync(message.Data, message.Type);
            }
        });

    public static TheoryData<TransportMode, int> ModesAndSizes()
    {
        var data = new TheoryData<TransportMode, int>();
        foreach (TransportMode mode in new[] { TransportMode.KestrelPipes, TransportMode.KestrelStream })
        {
            // 125/126 and 65535/65536 straddle the 7-bit/16-bit/64-bit length encodings; 1 MiB is the default MaxMessageSize.
            foreach (int size in new[] { 0, 125, 126, 65535, 65536, 1024 * 1024 })
            {
                data.Add(mode, size);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ModesAndSizes))]
    public async Task Binary_messages_of_boundary_sizes_echo_byte_for_byte(TransportMode mode, int size)
    {
        await using TestApp app = await TestApp.StartAsync(mode, MapEcho);
        using ClientWebSocket client = await ConnectAsync(app, "/echo");
        using CancellationTokenSource bound = Bound();
        byte[] payload = new byte[size];
        Random.Shared.NextBytes(payload);

        await client.SendAsync(payload, WebSocketMessageType.Binary, endOfMessage: true, bound.Token);
        ClientMessage echo = await client.ReceiveMessageAsync(bound.Token);

        Assert.Equal(WebSocketMessageType.Binary, echo.Type);
        Assert.Equal(size, echo.Data.Length);
        Assert.True(payload.AsSpan().SequenceEqual(echo.Data), "echoed bytes differ");
        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", bound.Token);
        Assert.Equal(WebSocketState.Closed, client.State);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
    }

    [Theory]
    [InlineData(TransportMode.KestrelPipes, 4 * 1024 * 1024)]
    [InlineData(TransportMode.KestrelPipes, 16 * 1024 * 1024)]
    [InlineData(TransportMode.KestrelStream, 16 * 1024 * 1024)]
    public async Task Large_messages_echo_when_the_endpoint_allows_them(TransportMode mode, int size)
    {
        await using TestApp app = await TestApp.StartAsync(mode, MapEcho, o => o.MaxMessageSize = 16 * 1024 * 1024);
        using ClientWebSocket client = await ConnectAsync(app, "/echo");
        using CancellationTokenSource bound = Bound(30);
        byte[] payload = new byte[size];
        Random.Shared.NextBytes(payload);

        await client.SendAsync(payload, WebSocketMessageType.Binary, endOfMessage: true, bound.Token);
        ClientMessage echo = await client.ReceiveMessageAsync(bound.Token, maxBytes: size);

        Assert.Equal(size, echo.Data.Length);
        Assert.True(payload.AsSpan().SequenceEqual(echo.Data), "echoed bytes differ");
    }

    [Theory]
    [MemberData(nameof(KestrelModes), MemberType = typeof(ClientWebSocketInterop))]
    public async Task Text_with_four_byte_utf8_echoes_as_text(TransportMode mode)
    {
        await using TestApp app = await TestApp.StartAsync(mode, MapEcho);
        using ClientWebSocket client = await ConnectAsync(app, "/echo");
        using CancellationTokenSource bound = Bound();
        const string text = "héllo 👋 wörld 𝄞 — 中文 🎉";

        await client.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, bound.Token);
        ClientMessage echo = await client.ReceiveMessageAsync(bound.Token);

        Assert.Equal(WebSocketMessageType.Text, echo.Type);
        Assert.Equal(text, echo.Text);
    }

    [Theory]
    [MemberData(nameof(KestrelModes), MemberType = typeof(ClientWebSocketInterop))]
    public async Task Fragments_sent_by_ClientWebSocket_are_reassembled_by_the_server(TransportMode mode)
    {
        await using TestApp app = await TestApp.StartAsync(mode, MapEcho);
        using ClientWebSocket client = await ConnectAsync(app, "/echo");
        using CancellationTokenSource bound = Bound();

        // Text whose 4-byte emoji is split across fragments (continuation frames carry partial code points).
        byte[] utf8 = Encoding.UTF8.GetBytes("fragmented 👋 text from ClientWebSocket");
        await client.SendAsync(utf8.AsMemory(0, 12), WebSocketMessageType.Text, endOfMessage: false, bound.Token);
        await client.SendAsync(utf8.AsMemory(12, 1), WebSocketMessageType.Text, endOfMessage: false, bound.Token);
        await client.SendAsync(ReadOnlyMemory<byte>.Empty, WebSocketMessageType.Text, endOfMessage: false, bound.Token);
        await client.SendAsync(utf8.AsMemory(13), WebSocketMessageType.Text, endOfMessage: true, bound.Token);

        // A larger binary message in uneven fragments, then an unfragmented one to prove the boundary.
        byte[] binary = new byte[100_000];
        Random.Shared.NextBytes(binary);
        int[] cuts = [0, 1, 40_000, 40_001, 99_999, 100_000];
        for (int i = 0; i < cuts.Length - 1; i++)
        {
            await client.SendAsync(binary.AsMemory(cuts[i], cuts[i + 1] - cuts[i]), WebSocketMessageType.Binary, endOfMessage: i == cuts.Length - 2, bound.Token);
        }

        await client.SendAsync("after"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, bound.Token);

        ClientMessage first = await client.ReceiveMessageAsync(bound.Token);
        ClientMessage second = await client.ReceiveMessageAsync(bound.Token);
        ClientMessage third = await client.ReceiveMessageAsync(bound.Token);

        Assert.Equal(WebSocketMessageType.Text, first.Type);
        Assert.Equal("fragmented 👋 text from ClientWebSocket", first.Text);
        Assert.Equal(WebSocketMessageType.Binary, second.Type);
        Assert.True(binary.AsSpan().SequenceEqual(second.Data), "reassembled binary differs");
        Assert.Equal("after", third.Text);
    }

    [Theory]
    [MemberData(nameof(KestrelModes), MemberType = typeof(ClientWebSocketInterop))]
    public async Task Streamed_server_message_is_reassembled_by_ClientWebSocket(TransportMode mode)
    {
        byte[] binary = new byte[10 * 7_000];
        Random.Shared.NextBytes(binary);
        byte[] utf8 = Encoding.UTF8.GetBytes("streamed 👋 text 𝄞 end");
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/stream", async (WebSocketConnection socket) =>
        {
            await using (WebSocketMessageWriter writer = await socket.BeginMessageAsync(WebSocketMessageType.Binary))
            {
                for (int i = 0; i < 9; i++)
                {
                    await writer.WriteAsync(binary.AsMemory(i * 7_000, 7_000));
                }

                await writer.CompleteAsync(binary.AsMemory(9 * 7_000));
            }

            await using (WebSocketMessageWriter writer = await socket.BeginMessageAsync(WebSocketMessageType.Text))
            {
                await writer.WriteAsync(utf8.AsMemory(0, 10)); // "streamed " plus the emoji's first byte
                await writer.WriteAsync(utf8.AsMemory(10, 2));
                await writer.CompleteAsync(utf8.AsMemory(12));
            }

            await socket.SendTextAsync("whole");
            await foreach (WebSocketMessage _ in socket.ReadAllAsync())
            {
            }
        }));
        using ClientWebSocket client = await ConnectAsync(app, "/stream");
        using CancellationTokenSource bound = Bound();

        ClientMessage streamedBinary = await client.ReceiveMessageAsync(bound.Token);
        ClientMessage streamedText = await client.ReceiveMessageAsync(bound.Token);
        ClientMessage whole = await client.ReceiveMessageAsync(bound.Token);

        Assert.Equal(WebSocketMessageType.Binary, streamedBinary.Type);
        Assert.True(binary.AsSpan().SequenceEqual(streamedBinary.Data), "reassembled binary differs");
        Assert.True(streamedBinary.Receives >= 10, $"expected one receive per fragment at least, got {streamedBinary.Receives}");
        Assert.Equal(WebSocketMessageType.Text, streamedText.Type);
        Assert.Equal("streamed 👋 text 𝄞 end", streamedText.Text);
        Assert.True(streamedText.Receives >= 3, $"expected one receive per fragment at least, got {streamedText.Receives}");
        Assert.Equal("whole", whole.Text);
        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, null, bound.Token);
        Assert.Equal(WebSocketState.Closed, client.State);
    }

    [Theory]
    [MemberData(nameof(KestrelModes), MemberType = typeof(ClientWebSocketInterop))]
    public async Task Server_streaming_receive_with_a_small_buffer_reads_a_large_message(TransportMode mode)
    {
        const int BufferSize = 1000;
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/sink", async (WebSocketConnection socket) =>
        {
            byte[] buffer = new byte[BufferSize];
            for (int message = 0; message < 2; message++)
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                long total = 0;
                int chunks = 0;
                int largest = 0;
                int ends = 0;
                WebSocketMessageType type;
                while (true)
                {
                    ValueWebSocketReceiveResult result = await socket.ReceiveAsync(buffer.AsMemory());
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }

                    type = result.MessageType;
                    hash.AppendData(buffer, 0, result.Count);
                    total += result.Count;
                    chunks++;
                    largest = Math.Max(largest, result.Count);
                    if (result.EndOfMessage)
                    {
                        ends++;
                        break;
                    }
                }

                await socket.SendTextAsync($"{type};{total};{chunks};{largest};{ends};{Convert.ToHexString(hash.GetHashAndReset())}");
            }

            await foreach (WebSocketMessage _ in socket.ReadAllAsync())
            {
            }
        }));
        using ClientWebSocket client = await ConnectAsync(app, "/sink");
        using CancellationTokenSource bound = Bound();
        byte[] large = new byte[300_000];
        Random.Shared.NextBytes(large);
        string expectedHash = Convert.ToHexString(SHA256.HashData(large));

        // One frame first, then the same bytes in three fragments.
        await client.SendAsync(large, WebSocketMessageType.Binary, endOfMessage: true, bound.Token);
        string[] single = (await client.ReceiveMessageAsync(bound.Token)).Text.Split(';');
        await client.SendAsync(large.AsMemory(0, 100_001), WebSocketMessageType.Binary, endOfMessage: false, bound.Token);
        await client.SendAsync(large.AsMemory(100_001, 99_999), WebSocketMessageType.Binary, endOfMessage: false, bound.Token);
        await client.SendAsync(large.AsMemory(200_000), WebSocketMessageType.Binary, endOfMessage: true, bound.Token);
        string[] fragmented = (await client.ReceiveMessageAsync(bound.Token)).Text.Split(';');

        foreach (string[] report in new[] { single, fragmented })
        {
            Assert.Equal(nameof(WebSocketMessageType.Binary), report[0]);
            Assert.Equal("300000", report[1]);
            Assert.True(int.Parse(report[2]) >= 300, $"expected at least 300 chunks of at most {BufferSize} bytes, got {report[2]}");
            Assert.True(int.Parse(report[3]) <= BufferSize, $"a chunk of {report[3]} bytes overran the buffer");
            Assert.Equal("1", report[4]); // EndOfMessage only on the last chunk
            Assert.Equal(expectedHash, report[5]);
        }

        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, null, bound.Token);
        Assert.Equal(WebSocketState.Closed, client.State);
    }

    [Theory]
    [MemberData(nameof(KestrelModes), MemberType = typeof(ClientWebSocketInterop))]
    public async Task Subprotocol_is_the_servers_first_preference_that_the_client_offers(TransportMode mode)
    {
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/chat", async (WebSocketConnection socket) =>
        {
            await socket.SendTextAsync($"protocol={socket.Protocol}");
            await foreach (WebSocketMessage _ in socket.ReadAllAsync())
            {
            }
        }).WithSubProtocols("chat.v2", "chat.v1"));
        using CancellationTokenSource bound = Bound();

        using (ClientWebSocket both = await ConnectAsync(app, "/chat", o =>
        {
            o.AddSubProtocol("chat.v1");
            o.AddSubProtocol("chat.v2");
        }))
        {
            Assert.Equal("chat.v2", both.SubProtocol);
            Assert.Equal("protocol=chat.v2", (await both.ReceiveMessageAsync(bound.Token)).Text);
            await both.CloseAsync(WebSocketCloseStatus.NormalClosure, null, bound.Token);
        }

        using (ClientWebSocket onlyV1 = await ConnectAsync(app, "/chat", o => o.AddSubProtocol("chat.v1")))
        {
            Assert.Equal("chat.v1", onlyV1.SubProtocol);
            Assert.Equal("protocol=chat.v1", (await onlyV1.ReceiveMessageAsync(bound.Token)).Text);
            await onlyV1.CloseAsync(WebSocketCloseStatus.NormalClosure, null, bound.Token);
        }

        using (ClientWebSocket none = await ConnectAsync(app, "/chat"))
        {
            Assert.Null(none.SubProtocol);
            Assert.Equal("protocol=", (await none.ReceiveMessageAsync(bound.Token)).Text);
            await none.CloseAsync(WebSocketCloseStatus.NormalClosure, null, bound.Token);
        }
    }

    [Theory]
    [MemberData(nameof(KestrelModes), MemberType = typeof(ClientWebSocketInterop))]
    public async Task Concurrent_server_sends_arrive_whole_and_in_per_sender_order(TransportMode mode)
    {
        const int Senders = 4;
        const int PerSender = 100;
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/burst", async (WebSocketConnection socket) =>
        {
            var senders = new Task[Senders];
            for (int s = 0; s < Senders; s++)
            {
                int sender = s;
                senders[s] = Task.Run(async () =>
                {
                    for (int i = 0; i < PerSender; i++)
                    {
                        string text = Message(sender, i);
                        if (sender == Senders - 1)
                        {
                            // One sender streams its messages in three fragments: others must wait for the whole message.
                            byte[] utf8 = Encoding.UTF8.GetBytes(text);
                            int third = utf8.Length / 3;
                            await using WebSocketMessageWriter writer = await socket.BeginMessageAsync(WebSocketMessageType.Text);
                            await writer.WriteAsync(utf8.AsMemory(0, third));
                            await writer.WriteAsync(utf8.AsMemory(third, third));
                            await writer.CompleteAsync(utf8.AsMemory(2 * third));
                        }
                        else
                        {
                            await socket.SendTextAsync(text);
                        }
                    }
                });
            }

            await Task.WhenAll(senders);
            await foreach (WebSocketMessage _ in socket.ReadAllAsync())
            {
            }
        }));
        using ClientWebSocket client = await ConnectAsync(app, "/burst");
        using CancellationTokenSource bound = Bound(20);

        int[] next = new int[Senders];
        for (int received = 0; received < Senders * PerSender; received++)
        {
            ClientMessage message = await client.ReceiveMessageAsync(bound.Token);
            Assert.Equal(WebSocketMessageType.Text, message.Type);
            string text = message.Text;
            int colon = text.IndexOf(':', StringComparison.Ordinal);
            Assert.True(colon > 0, $"malformed message #{received}: {Shorten(text)}");
            string[] id = text[..colon].Split('/');
            int sender = int.Parse(id[0]);
            int index = int.Parse(id[1]);
            Assert.Equal(next[sender], index); // each sender's messages in order, none lost
            Assert.Equal(Message(sender, index), text); // whole: nothing from another message inside
            next[sender]++;
        }

        Assert.All(next, count => Assert.Equal(PerSender, count));
        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, null, bound.Token);
        Assert.Equal(WebSocketState.Closed, client.State);
    }

    /// <summary>A self-describing message: "sender/index:" then a body whose length and letters depend on both, ending in '$'.</summary>
    private static string Message(int sender, int index)
    {
        int length = 50 + (((sender * 7919) + (index * 104_729)) % 3000);
        char letter = (char)('a' + sender);
        return $"{sender}/{index}:{new string(letter, length)}é👋${index}";
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..80] + "…";
}
