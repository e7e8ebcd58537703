namespace AspNetWebSockets.ConformanceTests;

/// <summary>Autobahn 7.x: the close handshake, close codes and reasons, and what happens after a close.</summary>
public sealed class Family7_Close(EchoServer server)
{
    private const string EchoCodeRule =
        "§5.5.1: \"If an endpoint receives a Close frame and did not previously send a Close frame, the endpoint MUST send " +
        "a Close frame in response. (When sending a Close frame in response, the endpoint typically echos the status code it received.)\"";

    private const string InvalidCodeRule =
        "§7.4.1/§7.4.2: 0–999 \"are not used\"; 1004 reserved; 1005, 1006, 1015 \"MUST NOT be set as a status code in a Close " +
        "control frame by an endpoint\"; 1016–2999 reserved for the protocol; a close frame with such a code is a protocol error (1002).";

    private const string PayloadRule =
        "§5.5.1: \"If there is a body, the first two bytes of the body MUST be a 2-byte unsigned integer (in network byte order) " +
        "representing a status code\" — a 1-byte body cannot be; §5.5: \"All control frames MUST have a payload length of 125 bytes or less\".";

    private const string ReasonRule =
        "§5.5.1: \"Following the 2-byte integer, the body MAY contain UTF-8-encoded data with value /reason/\"; " +
        "§8.1: not valid UTF-8 → _Fail the WebSocket Connection_ (1007).";

    private const string AfterCloseRule =
        "§1.4: \"after receiving a control frame indicating the connection should be closed, a peer discards any further data received.\"";

    private const string TcpCloseRule =
        "§7.1.1: \"The underlying TCP connection, in most normal cases, SHOULD be closed first by the server\"; " +
        "§5.5.1: after both Close frames, the endpoint \"MUST close the underlying TCP connection\".";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // RFC 6455 §5.5.1: "If an endpoint receives a Close frame and did not previously send a Close frame, the endpoint
    // MUST send a Close frame in response. (When sending a Close frame in response, the endpoint typically echos the
    // status code it received.)" — every code §7.4.1 defines for use in a frame, and the ranges 3000–4999 of §7.4.2
    // (Autobahn 7.7.x).
    [Theory]
    [MemberData(nameof(CloseCodes.ValidRows), MemberType = typeof(CloseCodes))]
    [Trait("RFC", EchoCodeRule)]
    public async Task Close_with_a_valid_code_is_echoed_with_the_same_code(int code)
    {
        using RawWebSocketClient client = await server.ConnectAsync();

        Frame close = await client.CloseAsync(Frames.ClosePayload((ushort)code, "bye"u8));

        Assert.Equal(code, close.CloseCode);
    }

    // RFC 6455 §5.5.1: "The Close frame MAY contain a body" — an empty one is valid, and §7.1.5 says that case is
    // reported as 1005 locally, which "MUST NOT be set as a status code in a Close control frame", so the echo is empty
    // too (Autobahn 7.3.1).
    [Fact]
    [Trait("RFC", "§5.5.1: \"The Close frame MAY contain a body\"; §7.4.1: 1005 \"MUST NOT be set as a status code in a Close control frame\".")]
    public async Task Empty_close_is_echoed_empty()
    {
        using RawWebSocketClient client = await server.ConnectAsync();

        Frame close = await client.CloseAsync([]);

        Assert.Empty(close.Payload);
    }

    // RFC 6455 §5.5.1: "If there is a body, the first two bytes of the body MUST be a 2-byte unsigned integer (in
    // network byte order) representing a status code" — a 1-byte body is malformed (Autobahn 7.3.2).
    [Fact]
    [Trait("RFC", PayloadRule)]
    public async Task Close_with_a_one_byte_payload_fails_with_1002()
    {
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendExpectingFailureAsync(Frames.Build(Opcode.Close, [0x03]));

        Assert.Equal(1002, await client.ReadCloseAsync());
    }

    // RFC 6455 §7.4.1/§7.4.2: "0-999: Status codes in the range 0-999 are not used."; 1004 "Reserved"; 1005, 1006 and
    // 1015 "MUST NOT be set as a status code in a Close control frame by an endpoint"; "1000-2999: Status codes in the
    // range 1000-2999 are reserved for definition by this protocol"; codes above 4999 are outside every range
    // (Autobahn 7.9.x, 7.13.x).
    [Theory]
    [MemberData(nameof(CloseCodes.InvalidRows), MemberType = typeof(CloseCodes))]
    [Trait("RFC", InvalidCodeRule)]
    public async Task Close_with_an_invalid_code_fails_with_1002(int code)
    {
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendExpectingFailureAsync(Frames.Close((ushort)code));

        Assert.Equal(1002, await client.ReadCloseAsync());
    }

    // RFC 6455 §5.5.1: "Following the 2-byte integer, the body MAY contain UTF-8-encoded data with value /reason/";
    // §8.1: a byte stream that is not valid UTF-8 MUST fail the connection — 1007 (Autobahn 7.5.1).
    [Theory]
    [InlineData("CE BA E1 BD B9 CF 83 CE BC CE B5 ED A0 80 65 64 69 74 65 64")]
    [InlineData("C0 AF")]
    [InlineData("F4 90 80 80")]
    [Trait("RFC", ReasonRule)]
    public async Task Close_reason_that_is_invalid_UTF8_fails_with_1007(string hex)
    {
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendExpectingFailureAsync(Frames.Close(1000, Frames.Hex(hex)));

        Assert.Equal(1007, await client.ReadCloseAsync());
    }

    // RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less" — 2 code bytes + 123 reason
    // bytes is the largest valid close (Autobahn 7.3.5); one more byte is a protocol error (Autobahn 7.3.6).
    [Theory]
    [InlineData(123, 1000)]
    [InlineData(124, 1002)]
    [Trait("RFC", PayloadRule)]
    public async Task Close_reason_length_limit(int reasonLength, int expectedCode)
    {
        using RawWebSocketClient client = await server.ConnectAsync();
        byte[] reason = Payloads.Ascii(reasonLength);

        if (expectedCode == 1000)
        {
            Frame close = await client.CloseAsync(Frames.ClosePayload(1000, reason));
            Assert.Equal(1000, close.CloseCode);
            Assert.Equal(reason, close.Payload[2..]); // the longest reason is echoed whole
        }
        else
        {
            await client.SendExpectingFailureAsync(Frames.Close(1000, reason));
            Assert.Equal(expectedCode, await client.ReadCloseAsync());
        }
    }

    // RFC 6455 §5.5.1: "it typically echos the status code it received", and the reason is ours to choose. Browsers,
    // ws and websockets echo the reason too, so a page's CloseEvent.reason after close(4000, "bye") reads "bye".
    [Theory]
    [InlineData(4000, "bye")]
    [InlineData(1000, "")]
    [InlineData(3001, "fin \u00e9t\u00e9 \u2713")]
    [Trait("RFC", PayloadRule)]
    public async Task The_close_echo_carries_the_peers_code_and_reason(int code, string reason)
    {
        using RawWebSocketClient client = await server.ConnectAsync();
        byte[] utf8 = System.Text.Encoding.UTF8.GetBytes(reason);

        Frame close = await client.CloseAsync(Frames.ClosePayload((ushort)code, utf8));

        Assert.Equal(code, close.CloseCode);
        Assert.Equal(utf8, close.Payload[2..]);
    }

    // RFC 6455 §1.4: "after receiving a control frame indicating the connection should be closed, a peer discards any
    // further data received." A text message and a ping written right after the close are neither echoed nor answered
    // (Autobahn 7.1.2–7.1.4).
    [Theory]
    [InlineData("text")]
    [InlineData("ping")]
    [InlineData("fragment")]
    [Trait("RFC", AfterCloseRule)]
    public async Task Frames_after_close_are_ignored(string after)
    {
        using RawWebSocketClient client = await server.ConnectAsync();
        byte[] trailing = after switch
        {
            "text" => Frames.Text("after close"),
            "ping" => Frames.Build(Opcode.Ping, "after close"u8),
            _ => Frames.Build(Opcode.Text, "after close"u8, fin: false),
        };

        await client.SendExpectingFailureAsync(Frames.Concat(Frames.Close(1000), trailing));

        // CloseAsync-style read: the next frame must be the close, and nothing may follow it before the TCP close.
        Assert.Equal(1000, await client.ReadCloseAsync());
    }

    // RFC 6455 §5.5.1: "the application MUST NOT send any more data frames after sending a Close frame" — so a message
    // begun before the close is abandoned, not echoed (Autobahn 7.1.5: a close in the middle of a fragmented message).
    [Fact]
    [Trait("RFC", EchoCodeRule)]
    public async Task Close_in_the_middle_of_a_fragmented_message_is_echoed_and_the_message_dropped()
    {
        using RawWebSocketClient client = await server.ConnectAsync();
        await client.SendAsync(Frames.Build(Opcode.Text, "fragment1"u8, fin: false), Ct);

        Frame close = await client.CloseAsync(Frames.ClosePayload(1000));

        Assert.Equal(1000, close.CloseCode);
    }

    // RFC 6455 §7.1.1: "The underlying TCP connection, in most normal cases, SHOULD be closed first by the server";
    // §5.5.1 "After both sending and receiving a Close message, an endpoint considers the WebSocket connection closed
    // and MUST close the underlying TCP connection." — after a normal exchange (and after a message), the server
    // closes the TCP connection by itself (Autobahn 7.1.1).
    [Fact]
    [Trait("RFC", TcpCloseRule)]
    public async Task After_the_close_exchange_the_server_closes_the_TCP_connection()
    {
        using RawWebSocketClient client = await server.ConnectAsync();
        await client.SendAsync(Frames.Text("Hello"), Ct);
        (_, byte[] echoed) = await client.ReadMessageAsync();
        Assert.Equal("Hello", Encoding.UTF8.GetString(echoed));

        // CloseAsync reads the server's close and then requires end-of-stream from the server within the timeout.
        Frame close = await client.CloseAsync(Frames.ClosePayload(1000));

        Assert.Equal(1000, close.CloseCode);
    }
}
