using System.Text.Json;

namespace AspNetWebSockets.RealClientTests;

/// <summary>
/// permessage-deflate (RFC 7692) between Node's <c>ws</c> and the /deflate endpoint (<c>.WithCompression()</c>):
/// ws compresses messages of 1 KiB and more by default and inflates whatever the server compresses. The client counts
/// the bytes on its TCP socket, so "compressed" is checked on the wire, not assumed.
/// </summary>
public sealed class NodeWsCompressionTests
{
    public static TheoryData<int, bool> Sizes()
    {
        // ws compresses even the empty message (its payload is the single byte 00), and random binary from 64 KiB goes
        // out as stored blocks: both once left a message whose last inflate call yields no bytes unfinished.
        var data = new TheoryData<int, bool>();
        foreach (int size in new[] { 0, 125, 126, 1024, 65535, 65536, 1024 * 1024, 16 * 1024 * 1024 })
        {
            data.Add(size, false);
            data.Add(size, true);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task Compressed_echo_matrix_over_sizes_and_types(int size, bool binary)
    {
        await using RealClientApp app = await RealClientApp.StartAsync();

        // Text is repetitive (it compresses); binary is random (it does not, and must survive being compressed anyway).
        JsonElement result = await NodeClient.RunAsync(app.WebSocketUri("/deflate"), "echo", new { size, binary, deflate = true });

        Assert.Equal("permessage-deflate", result.GetProperty("extensions").GetString());
        Assert.True(result.GetProperty("equal").GetBoolean(), "The echo differs from what ws sent.");
        Assert.Equal(size, result.GetProperty("receivedBytes").GetInt32());
        Assert.Equal(binary, result.GetProperty("receivedBinary").GetBoolean());
        if (!binary && size >= 64 * 1024)
        {
            JsonElement wire = result.GetProperty("wire");
            Assert.True(wire.GetProperty("written").GetInt64() < size / 4, $"ws sent {wire.GetProperty("written")} bytes for {size} bytes of repetitive text.");
            Assert.True(wire.GetProperty("read").GetInt64() < size / 4, $"The server sent {wire.GetProperty("read")} bytes for {size} bytes of repetitive text.");
        }

        ServerConnection server = await app.NextConnectionAsync();
        Assert.Equal(result.GetProperty("responseExtensions").GetString(), server.Extensions);
        ServerMessage received = Assert.Single(server.Messages);
        Assert.Equal(size, received.Length);
        Assert.Equal(result.GetProperty("sentSha256").GetString(), received.Sha256);
        Assert.Equal(new WebSocketCloseInfo(WebSocketCloseCode.NormalClosure, "done", WasClean: true), await server.ClosedWithin());
    }

    [Fact]
    public async Task Repetitive_binary_is_compressed_on_the_wire_both_ways()
    {
        const int size = 1024 * 1024;
        await using RealClientApp app = await RealClientApp.StartAsync();

        JsonElement result = await NodeClient.RunAsync(app.WebSocketUri("/deflate"), "echo", new { size, binary = true, deflate = true, compressible = true });

        Assert.True(result.GetProperty("equal").GetBoolean());
        JsonElement wire = result.GetProperty("wire");
        Assert.True(wire.GetProperty("written").GetInt64() < size / 20, $"ws sent {wire.GetProperty("written")} bytes.");
        Assert.True(wire.GetProperty("read").GetInt64() < size / 20, $"The server sent {wire.GetProperty("read")} bytes.");
        Assert.Equal(size, Assert.Single((await app.NextConnectionAsync()).Messages).Length);
    }

    /// <summary>
    /// Named negotiation cases: ws's perMessageDeflate options, the server's compression settings, and what the
    /// response must then say (null: the server must decline the offer, and the messages travel uncompressed).
    /// </summary>
    private static (object WsOptions, Action<WebSocketCompressionOptions>? Server, string[]? Expected) Negotiation(string name) => name switch
    {
        "ws-default" => (new { }, null, []),
        "ws-no-context-takeover" => (new { serverNoContextTakeover = true, clientNoContextTakeover = true }, null, ["server_no_context_takeover", "client_no_context_takeover"]),
        "ws-9-bit-windows" => (new { serverMaxWindowBits = 9, clientMaxWindowBits = 9 }, null, ["server_max_window_bits=9", "client_max_window_bits=9"]),
        "ws-threshold-0" => (new { threshold = 0 }, null, []), // ws compresses every message, even empty ones
        "server-no-context-takeover" => (new { }, o => { o.ServerContextTakeover = false; o.ClientContextTakeover = false; }, ["server_no_context_takeover", "client_no_context_takeover"]),
        "server-10-bit-windows" => (new { }, o => { o.ServerMaxWindowBits = 10; o.ClientMaxWindowBits = 10; }, ["server_max_window_bits=10", "client_max_window_bits=10"]),
        "ws-8-bit-server-window" => (new { serverMaxWindowBits = 8 }, null, null), // zlib cannot: declined, not failed
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    [Theory]
    [InlineData("ws-default")]
    [InlineData("ws-no-context-takeover")]
    [InlineData("ws-9-bit-windows")]
    [InlineData("ws-threshold-0")]
    [InlineData("server-no-context-takeover")]
    [InlineData("server-10-bit-windows")]
    [InlineData("ws-8-bit-server-window")]
    public async Task Negotiated_parameters_hold_over_a_sequence_of_messages(string name)
    {
        (object wsOptions, Action<WebSocketCompressionOptions>? serverOptions, string[]? expected) = Negotiation(name);
        await using RealClientApp app = await RealClientApp.StartAsync(o => serverOptions?.Invoke(o.Compression));

        // Sizes from 1 byte; empty messages have their own test (Compressed_empty_messages_between_others).
        JsonElement result = await NodeClient.RunAsync(app.WebSocketUri("/deflate"), "sequence", new { count = 60, deflate = wsOptions, sizes = new[] { 1, 10, 200, 5000, 70000, 130 } });

        string? response = result.GetProperty("responseExtensions").GetString();
        TestContext.Current.TestOutputHelper?.WriteLine($"{name}: response Sec-WebSocket-Extensions: {response ?? "(none)"}");
        if (expected is null)
        {
            Assert.Null(response);
            Assert.Equal(string.Empty, result.GetProperty("extensions").GetString());
        }
        else
        {
            Assert.NotNull(response);
            Assert.StartsWith("permessage-deflate", response, StringComparison.Ordinal);
            foreach (string parameter in expected)
            {
                Assert.Contains(parameter, response, StringComparison.Ordinal);
            }
        }

        Assert.Equal(60, result.GetProperty("count").GetInt32());
        Assert.Equal(0, result.GetProperty("mismatches").GetInt32());
        Assert.Equal(WebSocketCloseCode.NormalClosure, result.GetProperty("close").GetProperty("code").GetInt32());
        ServerConnection server = await app.NextConnectionAsync();
        Assert.Equal(response ?? string.Empty, server.Extensions);
        Assert.Equal(60, server.Messages.Count);
        Assert.True((await server.ClosedWithin()).WasClean);
    }

    [Fact]
    public async Task Compressed_empty_messages_between_others()
    {
        // A compressed empty message (payload 00) must be delivered at once, not merged with the frame after it.
        await using RealClientApp app = await RealClientApp.StartAsync();

        JsonElement result = await NodeClient.RunAsync(app.WebSocketUri("/deflate"), "sequence", new { count = 6, deflate = true, sizes = new[] { 5000, 0 } });

        Assert.Equal("permessage-deflate", result.GetProperty("extensions").GetString());
        Assert.Equal(0, result.GetProperty("mismatches").GetInt32());
        Assert.Equal(6, (await app.NextConnectionAsync()).Messages.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // 1 MiB of random bytes in 64 KiB fragments: stored blocks
    public async Task Compressed_fragmented_message_with_a_ping_between_fragments(bool binary)
    {
        // threshold 0: ws compresses the message whatever the size of its first fragment.
        await using RealClientApp app = await RealClientApp.StartAsync();

        JsonElement result = await NodeClient.RunAsync(app.WebSocketUri("/deflate"), "fragmented", new { binary, deflate = new { threshold = 0 } });

        Assert.Equal("permessage-deflate", result.GetProperty("extensions").GetString());
        Assert.True(result.GetProperty("pongMatchesPing").GetBoolean());
        Assert.True(result.GetProperty("equal").GetBoolean(), "The echo of the compressed fragmented message differs.");
        ServerMessage received = Assert.Single((await app.NextConnectionAsync()).Messages);
        Assert.Equal(result.GetProperty("sentBytes").GetInt32(), received.Length);
        Assert.Equal(result.GetProperty("sentSha256").GetString(), received.Sha256);
    }
}
