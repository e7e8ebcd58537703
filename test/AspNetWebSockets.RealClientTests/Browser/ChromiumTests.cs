using System.Security.Cryptography;
using System.Text.Json;

namespace AspNetWebSockets.RealClientTests;

/// <summary>
/// The browser's own <c>WebSocket</c> object — the client our users' users run — against the server. Each test drives
/// a fresh page with small async snippets (<see cref="BrowserPage.EvaluateAsync(string, object?)"/>) that use the
/// page's helpers (Browser/test-page.html) and return what the page saw; the server side reports what it saw through
/// <see cref="RealClientApp.NextConnectionAsync"/>.
/// </summary>
public sealed class ChromiumTests(ChromiumFixture chromium) : IClassFixture<ChromiumFixture>
{
    private const int OpenCode = 1; // WebSocket.OPEN

    [Fact]
    public async Task Text_echoes_as_text_including_four_byte_utf8()
    {
        const string text = "héllo 👋 wörld 𝄞 ✓ 中文";
        await using RealClientApp app = await RealClientApp.StartAsync();
        await using BrowserPage page = await chromium.OpenAsync(app);

        JsonElement result = await page.EvaluateAsync(
            """
            async (text) => {
              const c = await rc.connect("/echo");
              c.ws.send(text);
              const echo = await c.next();
              return { kind: rc.kind(echo), echo };
            }
            """, text);

        Assert.Equal("text", result.GetProperty("kind").GetString());
        Assert.Equal(text, result.GetProperty("echo").GetString());
        ServerMessage received = Assert.Single((await app.NextConnectionAsync()).Messages);
        Assert.Equal(WebSocketMessageType.Text, received.Type);
        Assert.Equal(Encoding.UTF8.GetByteCount(text), received.Length);
        Assert.Equal(text, received.Text);
    }

    [Fact]
    public async Task Binary_echoes_as_arraybuffer()
    {
        await using RealClientApp app = await RealClientApp.StartAsync();
        await using BrowserPage page = await chromium.OpenAsync(app);

        JsonElement result = await page.EvaluateAsync(
            """
            async () => {
              const c = await rc.connect("/echo");
              const sent = new Uint8Array(256);
              sent.forEach((_, i) => sent[i] = 255 - i);
              c.ws.send(sent);
              const echo = await c.next();
              return { kind: rc.kind(echo), bytes: Array.from(new Uint8Array(echo)) };
            }
            """);

        byte[] expected = Enumerable.Range(0, 256).Select(i => (byte)(255 - i)).ToArray();
        Assert.Equal("arraybuffer", result.GetProperty("kind").GetString());
        Assert.Equal(expected, result.GetProperty("bytes").EnumerateArray().Select(b => (byte)b.GetInt32()).ToArray());
        ServerMessage received = Assert.Single((await app.NextConnectionAsync()).Messages);
        Assert.Equal(WebSocketMessageType.Binary, received.Type);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(expected)), received.Sha256);
    }

    [Theory]
    [InlineData(1024 * 1024, true)]
    [InlineData(4 * 1024 * 1024, true)]
    [InlineData(1024 * 1024, false)]
    [InlineData(4 * 1024 * 1024, false)]
    public async Task Large_messages_echo_intact(int size, bool binary)
    {
        await using RealClientApp app = await RealClientApp.StartAsync();
        await using BrowserPage page = await chromium.OpenAsync(app);

        JsonElement result = await page.EvaluateAsync(
            """
            async ({ size, binary }) => {
              const c = await rc.connect("/echo");
              const payload = binary ? rc.pattern(size, size) : rc.text(size);
              const sentSha256 = await rc.sha256(payload);
              c.ws.send(payload);
              const echo = await c.next(30000);
              return {
                sentBytes: typeof payload === "string" ? rc.utf8(payload).length : payload.length,
                sentSha256,
                kind: rc.kind(echo),
                firstDifference: rc.firstDifference(payload, echo),
              };
            }
            """, new { size, binary });

        Assert.Equal(size, result.GetProperty("sentBytes").GetInt32());
        Assert.Equal(binary ? "arraybuffer" : "text", result.GetProperty("kind").GetString());
        Assert.Equal(-1, result.GetProperty("firstDifference").GetInt32());
        ServerMessage received = Assert.Single((await app.NextConnectionAsync()).Messages);
        Assert.Equal(binary ? WebSocketMessageType.Binary : WebSocketMessageType.Text, received.Type);
        Assert.Equal(size, received.Length);
        Assert.Equal(result.GetProperty("sentSha256").GetString(), received.Sha256);
    }

    [Fact]
    public async Task Five_hundred_messages_arrive_in_order_both_ways()
    {
        const int count = 500;
        await using RealClientApp app = await RealClientApp.StartAsync();
        await using BrowserPage page = await chromium.OpenAsync(app);

        string[] echoes = await page.EvaluateAsync<string[]>(
            """
            async (count) => {
              const c = await rc.connect("/echo");
              for (let i = 0; i < count; i++) {
                c.ws.send(`message ${i}`);
              }
              return await c.take(count, 20000);
            }
            """, count);

        string[] expected = Enumerable.Range(0, count).Select(i => $"message {i}").ToArray();
        Assert.Equal(expected, echoes);
        Assert.Equal(expected, (await app.NextConnectionAsync()).Messages.Select(m => m.Text).ToArray());
    }

    [Theory]
    [InlineData(new[] { "chat.v1", "chat.v2" }, "chat.v2")] // the server's preference wins over the client's order
    [InlineData(new[] { "other", "chat.v1" }, "chat.v1")]
    public async Task Negotiated_protocol_is_the_servers_first_match(string[] offered, string expected)
    {
        await using RealClientApp app = await RealClientApp.StartAsync();
        await using BrowserPage page = await chromium.OpenAsync(app);

        JsonElement result = await page.EvaluateAsync(
            """
            async (offered) => {
              const c = await rc.connect("/protocols", offered);
              c.ws.send("after negotiation");
              return { protocol: c.ws.protocol, echo: await c.next() };
            }
            """, offered);

        Assert.Equal(expected, result.GetProperty("protocol").GetString());
        Assert.Equal("after negotiation", result.GetProperty("echo").GetString());
        ServerConnection server = await app.NextConnectionAsync();
        Assert.Equal(string.Join(", ", offered), server.OfferedProtocols);
        Assert.Equal(expected, server.Protocol);
    }

    [Fact]
    public async Task Unmatched_protocol_offer_makes_the_browser_refuse_the_connection()
    {
        // Documented behaviour: with no match the server completes the handshake without Sec-WebSocket-Protocol, and a
        // browser that offered subprotocols then fails the connection (the WHATWG WebSocket standard requires it).
        await using RealClientApp app = await RealClientApp.StartAsync();
        await using BrowserPage page = await chromium.OpenAsync(app);

        JsonElement result = await page.EvaluateAsync(
            """
            async () => {
              const c = new rc.Client("/protocols", ["nothing.the.server.speaks"]);
              let opened = false;
              c.opened.then(() => opened = true, () => {});
              const closed = await c.waitClosed();
              return { opened, ...closed };
            }
            """);

        Assert.False(result.GetProperty("opened").GetBoolean());
        Assert.Equal(WebSocketCloseCode.AbnormalClosure, result.GetProperty("code").GetInt32());
        Assert.False(result.GetProperty("wasClean").GetBoolean());
        ServerConnection server = await app.NextConnectionAsync();
        Assert.Equal(string.Empty, server.Protocol);
        Assert.Equal(WebSocketCloseCode.AbnormalClosure, (await server.ClosedWithin()).Code);
    }

    [Fact]
    public async Task Permessage_deflate_offer_is_declined_cleanly()
    {
        // The app under test does not turn permessage-deflate on (the server had none when this was written; it is off
        // by default), so the server must decline Chromium's offer by leaving the extension out of its response — not
        // fail the handshake — and messages travel uncompressed. When compression lands on these endpoints this test
        // flips: extensions becomes "permessage-deflate…" on both sides.
        await using RealClientApp app = await RealClientApp.StartAsync();
        await using BrowserPage page = await chromium.OpenAsync(app);

        JsonElement result = await page.EvaluateAsync(
            """
            async () => {
              const c = await rc.connect("/echo");
              const compressible = "a".repeat(10000);
              c.ws.send(compressible);
              const echo = await c.next();
              return { extensions: c.ws.extensions, echoed: echo === compressible };
            }
            """);

        Assert.Equal(string.Empty, result.GetProperty("extensions").GetString());
        Assert.True(result.GetProperty("echoed").GetBoolean());
        ServerConnection server = await app.NextConnectionAsync();
        Assert.Contains("permessage-deflate", server.OfferedExtensions, StringComparison.Ordinal);
        Assert.Contains("client_max_window_bits", server.OfferedExtensions, StringComparison.Ordinal);
        Assert.Equal(string.Empty, server.Extensions);
        Assert.Equal(10000, Assert.Single(server.Messages).Length);
    }

    [Theory]
    [InlineData("default")]
    [InlineData("no-context-takeover")]
    [InlineData("9-bit-windows")]
    public async Task Permessage_deflate_with_chromium_compresses_and_echoes_intact(string settings)
    {
        // /deflate turns compression on. Chromium offers "permessage-deflate; client_max_window_bits"; the server's
        // settings decide the answer, and Chromium must then compress (and inflate) by it. The relay shows the frames.
        await using RealClientApp app = await RealClientApp.StartAsync(o =>
        {
            switch (settings)
            {
                case "no-context-takeover":
                    o.Compression.ServerContextTakeover = false;
                    o.Compression.ClientContextTakeover = false;
                    break;
                case "9-bit-windows":
                    o.Compression.ServerMaxWindowBits = 9;
                    o.Compression.ClientMaxWindowBits = 9;
                    break;
            }
        });
        await using var tap = new LoopbackTap(app.HttpAddress);
        await using BrowserPage page = await chromium.OpenAsync(tap.HttpAddress);

        JsonElement result = await page.EvaluateAsync(
            """
            async () => {
              const c = await rc.connect("/deflate");
              const text = rc.text(1024 * 1024);
              c.ws.send(text);
              const textEcho = await c.next(30000);
              const binary = rc.repetitive(2 * 1024 * 1024);
              c.ws.send(binary);
              const binaryEcho = await c.next(30000);
              // Many messages in flight at once: with context takeover each one is compressed against the ones before.
              const small = Array.from({ length: 200 }, (_, i) => `message ${i} ` + "abc".repeat(i % 50));
              small.forEach(m => c.ws.send(m));
              const smallEchoes = await c.take(small.length, 20000);
              return {
                extensions: c.ws.extensions,
                textIntact: textEcho === text,
                binaryKind: rc.kind(binaryEcho),
                binaryDifference: rc.firstDifference(binary, binaryEcho),
                smallMismatches: smallEchoes.filter((m, i) => m !== small[i]).length,
              };
            }
            """);

        string extensions = result.GetProperty("extensions").GetString()!;
        TestContext.Current.TestOutputHelper?.WriteLine($"Negotiated with Chromium: {extensions}");
        Assert.StartsWith("permessage-deflate", extensions, StringComparison.Ordinal);
        Assert.True(result.GetProperty("textIntact").GetBoolean(), "The 1 MiB text echo differs.");
        Assert.Equal("arraybuffer", result.GetProperty("binaryKind").GetString());
        Assert.Equal(-1, result.GetProperty("binaryDifference").GetInt32());
        Assert.Equal(0, result.GetProperty("smallMismatches").GetInt32());
        switch (settings)
        {
            case "no-context-takeover":
                Assert.Contains("server_no_context_takeover", extensions, StringComparison.Ordinal);
                Assert.Contains("client_no_context_takeover", extensions, StringComparison.Ordinal);
                break;
            case "9-bit-windows":
                Assert.Contains("server_max_window_bits=9", extensions, StringComparison.Ordinal);
                Assert.Contains("client_max_window_bits=9", extensions, StringComparison.Ordinal);
                break;
        }

        ServerConnection server = await app.NextConnectionAsync();
        Assert.Equal(extensions, server.Extensions);
        IReadOnlyList<ServerMessage> received = server.Messages;
        Assert.Equal(202, received.Count);
        Assert.Equal((WebSocketMessageType.Text, 1024 * 1024), (received[0].Type, received[0].Length));
        Assert.Equal((WebSocketMessageType.Binary, 2 * 1024 * 1024), (received[1].Type, received[1].Length));

        // The 1 MiB of repetitive text crossed the wire compressed both ways: RSV1 on its first frame, and far fewer bytes.
        TappedConnection socket = Assert.Single(tap.Connections, c => c.IsWebSocket);
        List<WireFrame> fromClient = DataFramesOfFirstMessage(socket.FromClient.Frames());
        List<WireFrame> fromServer = DataFramesOfFirstMessage(socket.FromServer.Frames());
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"1 MiB of text on the wire: {fromClient.Sum(f => f.PayloadLength)} bytes from Chromium in {fromClient.Count} frame(s), {fromServer.Sum(f => f.PayloadLength)} bytes from the server in {fromServer.Count} frame(s).");
        Assert.NotEmpty(fromClient);
        Assert.NotEmpty(fromServer);
        Assert.True(fromClient[0].Rsv1, "Chromium did not compress the text message.");
        Assert.True(fromServer[0].Rsv1, "The server did not compress its echo of the text message.");
        Assert.True(fromClient.Sum(f => f.PayloadLength) < 64 * 1024);
        Assert.True(fromServer.Sum(f => f.PayloadLength) < 64 * 1024);
    }

    [Fact]
    public async Task Permessage_deflate_with_chromium_echoes_incompressible_binary_intact()
    {
        // Random bytes go out as deflate stored blocks; 2 MiB of them once left the message unfinished on the server.
        await using RealClientApp app = await RealClientApp.StartAsync();
        await using BrowserPage page = await chromium.OpenAsync(app);

        JsonElement result = await page.EvaluateAsync(
            """
            async () => {
              const c = await rc.connect("/deflate");
              const binary = rc.pattern(2 * 1024 * 1024, 7);
              c.ws.send(binary);
              const echo = await c.next(30000);
              return { extensions: c.ws.extensions, kind: rc.kind(echo), firstDifference: rc.firstDifference(binary, echo) };
            }
            """);

        Assert.StartsWith("permessage-deflate", result.GetProperty("extensions").GetString(), StringComparison.Ordinal);
        Assert.Equal("arraybuffer", result.GetProperty("kind").GetString());
        Assert.Equal(-1, result.GetProperty("firstDifference").GetInt32());
        Assert.Equal(2 * 1024 * 1024, Assert.Single((await app.NextConnectionAsync()).Messages).Length);
    }

    /// <summary>The data frames (first frame and continuations) of the first data message.</summary>
    private static List<WireFrame> DataFramesOfFirstMessage(IReadOnlyList<WireFrame> frames)
    {
        var message = new List<WireFrame>();
        foreach (WireFrame frame in frames.Where(f => f.Opcode is 0 or WireFrame.Text or WireFrame.Binary))
        {
            message.Add(frame);
            if (frame.Fin)
            {
                break;
            }
        }

        return message;
    }

    [Fact]
    public async Task Client_close_with_code_and_reason_reaches_the_server_and_is_clean()
    {
        const string reason = "client says bye ✓";
        await using RealClientApp app = await RealClientApp.StartAsync();
        await using BrowserPage page = await chromium.OpenAsync(app);

        JsonElement result = await page.EvaluateAsync(
            """
            async ({ code, reason }) => {
              const c = await rc.connect("/echo");
              c.ws.send("before closing");
              await c.next();
              c.ws.close(code, reason);
              return await c.waitClosed();
            }
            """, new { code = 4000, reason });

        Assert.True(result.GetProperty("wasClean").GetBoolean());
        Assert.Equal(4000, result.GetProperty("code").GetInt32()); // the server echoes the code...
        Assert.Equal(reason, result.GetProperty("reason").GetString()); // ...and the reason, so CloseEvent.reason shows it
        WebSocketCloseInfo server = await (await app.NextConnectionAsync()).ClosedWithin();
        Assert.Equal(new WebSocketCloseInfo(4000, reason, WasClean: true), server);
    }

    public static TheoryData<int, string> ServerCloses => new()
    {
        { WebSocketCloseCode.NormalClosure, "done" },
        { 1008, "policy violated" },
        { 1011, "unexpected condition" },
        { 3000, "registered code ✓" },
        { 4999, new string('r', 120) + "✓" }, // 123 bytes of UTF-8: the longest reason a close frame holds
    };

    [Theory]
    [MemberData(nameof(ServerCloses))]
    public async Task Server_close_code_and_reason_reach_the_close_event(int code, string reason)
    {
        await using RealClientApp app = await RealClientApp.StartAsync();
        await using BrowserPage page = await chromium.OpenAsync(app);

        JsonElement result = await page.EvaluateAsync(
            """
            async ({ code, reason }) => {
              const c = await rc.connect(`/close/${code}`);
              c.ws.send(reason); // the endpoint closes with this reason
              return await c.waitClosed();
            }
            """, new { code, reason });

        Assert.Equal(code, result.GetProperty("code").GetInt32());
        Assert.Equal(reason, result.GetProperty("reason").GetString());
        Assert.True(result.GetProperty("wasClean").GetBoolean());
        WebSocketCloseInfo server = await (await app.NextConnectionAsync()).ClosedWithin();
        Assert.True(server.WasClean);
        Assert.Equal(code, server.Code); // Chromium echoes the code
    }

    [Fact]
    public async Task Server_shutdown_gives_the_page_1001()
    {
        await using RealClientApp app = await RealClientApp.StartAsync();
        await using BrowserPage page = await chromium.OpenAsync(app);
        string echo = await page.EvaluateAsync<string>(
            """
            async () => {
              rc.current = await rc.connect("/echo");
              rc.current.ws.send("connected");
              return await rc.current.next();
            }
            """);
        Assert.Equal("connected", echo);
        ServerConnection server = await app.NextConnectionAsync();

        await app.StopAsync();

        JsonElement result = await page.EvaluateAsync("() => rc.current.waitClosed()");
        Assert.Equal(WebSocketCloseCode.GoingAway, result.GetProperty("code").GetInt32());
        Assert.True(result.GetProperty("wasClean").GetBoolean());
        WebSocketCloseInfo closed = await server.ClosedWithin();
        Assert.Equal(WebSocketCloseCode.GoingAway, closed.Code);
        Assert.True(closed.WasClean);
    }

    [Fact]
    public async Task Server_abort_gives_the_page_1006()
    {
        await using RealClientApp app = await RealClientApp.StartAsync();
        await using BrowserPage page = await chromium.OpenAsync(app);

        JsonElement result = await page.EvaluateAsync(
            """
            async () => {
              const c = await rc.connect("/abort");
              c.ws.send("abort now"); // the endpoint aborts once a message arrives
              return await c.waitClosed();
            }
            """);

        Assert.Equal(WebSocketCloseCode.AbnormalClosure, result.GetProperty("code").GetInt32());
        Assert.False(result.GetProperty("wasClean").GetBoolean());
        WebSocketCloseInfo server = await (await app.NextConnectionAsync()).ClosedWithin();
        Assert.Equal(new WebSocketCloseInfo(WebSocketCloseCode.AbnormalClosure, string.Empty, WasClean: false), server);
    }

    [Fact]
    public async Task Keep_alive_pings_are_answered_by_the_browser()
    {
        // With a 200 ms interval and a 1 s timeout, a page idle for 3 s survives only if it answers the pings. The relay
        // shows the frames themselves: pings from the server, pongs from Chromium (no browser API exposes either).
        await using RealClientApp app = await RealClientApp.StartAsync(o =>
        {
            o.KeepAliveInterval = TimeSpan.FromMilliseconds(200);
            o.KeepAliveTimeout = TimeSpan.FromSeconds(1);
        });
        await using var tap = new LoopbackTap(app.HttpAddress);
        await using BrowserPage page = await chromium.OpenAsync(tap.HttpAddress);

        JsonElement result = await page.EvaluateAsync(
            """
            async () => {
              const c = await rc.connect("/echo");
              await rc.sleep(3000); // idle: nothing sent by the page
              const readyStateAfterIdle = c.ws.readyState;
              c.ws.send("still here");
              return { readyStateAfterIdle, echo: await c.next() };
            }
            """);

        Assert.Equal(OpenCode, result.GetProperty("readyStateAfterIdle").GetInt32());
        Assert.Equal("still here", result.GetProperty("echo").GetString());
        ServerConnection server = await app.NextConnectionAsync();
        Assert.False(server.Closed.IsCompleted, "The server closed the connection of a page that answers pings.");

        TappedConnection socket = Assert.Single(tap.Connections, c => c.IsWebSocket);
        int pings = socket.FromServer.Frames().Count(f => f.Opcode == WireFrame.Ping);
        int pongs = socket.FromClient.Frames().Count(f => f.Opcode == WireFrame.Pong);
        TestContext.Current.TestOutputHelper?.WriteLine($"On the wire while idle: {pings} pings from the server, {pongs} pongs from Chromium.");
        Assert.True(pings >= 5, $"Expected at least 5 keep-alive pings in 3 s at a 200 ms interval, saw {pings}.");
        Assert.True(pongs >= pings - 1, $"Chromium answered {pongs} of {pings} pings.");
    }
}
