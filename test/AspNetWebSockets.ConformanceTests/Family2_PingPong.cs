namespace AspNetWebSockets.ConformanceTests;

/// <summary>Autobahn 2.x: pings are answered with pongs carrying the same payload, pongs need no answer.</summary>
public sealed class Family2_PingPong(EchoServer server)
{
    private const string PongRule =
        "§5.5.2: \"Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response\"; §5.5.3: \"A Pong frame " +
        "sent in response to a Ping frame must have identical \\\"Application data\\\" as found in the message body of the Ping frame being replied to.\"";

    private const string ControlLengthRule =
        "§5.5: \"All control frames MUST have a payload length of 125 bytes or less and MUST NOT be fragmented.\"";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, int> Pings() => new()
    {
        { "empty", 0 },
        { "text", 5 },
        { "binary", 10 },
        { "binary", 125 },
    };

    // RFC 6455 §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response". §5.5.3: "A Pong
    // frame sent in response to a Ping frame must have identical "Application data" as found in the message body of
    // the Ping frame being replied to." (Autobahn 2.1–2.4)
    [Theory]
    [MemberData(nameof(Pings))]
    [Trait("RFC", PongRule)]
    public async Task Ping_gets_a_pong_with_the_same_payload(string kind, int length)
    {
        byte[] payload = kind == "text" ? Encoding.UTF8.GetBytes("Hello") : Payloads.Binary(length);
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendFrameAsync(Opcode.Ping, payload);

        Frame pong = await client.ReadFrameAsync();
        Assert.Equal(Opcode.Pong, pong.Opcode);
        Assert.True(pong.Fin);
        Assert.Equal(payload, pong.Payload);
        await client.CloseNormallyAsync();
    }

    // RFC 6455 §5.5.2/§5.5.3 as above, with the 125-byte ping written one byte at a time (Autobahn 2.6).
    [Fact]
    [Trait("RFC", PongRule)]
    public async Task Ping_of_125_bytes_written_byte_by_byte_gets_its_pong()
    {
        byte[] payload = Payloads.Binary(125);
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendAsync(Frames.Build(Opcode.Ping, payload), Ct, chunkSize: 1);

        Frame pong = await client.ReadFrameAsync();
        Assert.Equal(Opcode.Pong, pong.Opcode);
        Assert.Equal(payload, pong.Payload);
        await client.CloseNormallyAsync();
    }

    // RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less and MUST NOT be fragmented."
    // A frame that breaks it is a protocol error: §7.4.1 "1002 indicates that an endpoint is terminating the connection
    // due to a protocol error." (Autobahn 2.5)
    [Fact]
    [Trait("RFC", ControlLengthRule)]
    public async Task Ping_of_126_bytes_fails_the_connection_with_1002()
    {
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendExpectingFailureAsync(Frames.Build(Opcode.Ping, Payloads.Binary(126)));

        Assert.Equal(1002, await client.ReadCloseAsync());
    }

    // RFC 6455 §5.5.3: "A Pong frame MAY be sent unsolicited. This serves as a unidirectional heartbeat. A response to
    // an unsolicited Pong frame is not expected." (Autobahn 2.7, 2.8)
    [Theory]
    [InlineData(0)]
    [InlineData(9)]
    [Trait("RFC", "§5.5.3: \"A Pong frame MAY be sent unsolicited. ... A response to an unsolicited Pong frame is not expected.\"")]
    public async Task Unsolicited_pong_is_ignored(int length)
    {
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendAsync(Frames.Concat(Frames.Build(Opcode.Pong, Payloads.Binary(length)), Frames.Text("after the pong")), Ct);

        // The first thing back is the echo of the text: no answer to the pong came before it.
        (byte opcode, byte[] echoed) = await client.ReadMessageAsync();
        Assert.Equal(Opcode.Text, opcode);
        Assert.Equal("after the pong", Encoding.UTF8.GetString(echoed));
        await client.CloseNormallyAsync();
    }

    // RFC 6455 §5.5.2 "an endpoint MUST send a Pong frame in response ... as soon as is practical", and §5.5.3 "A Pong
    // frame sent in response to a Ping frame must have identical "Application data"" — ten pings in a row, then a text
    // message: ten pongs in order, then the echo (Autobahn 2.10/2.11).
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [Trait("RFC", PongRule)]
    public async Task Ten_pings_before_a_text_message_are_all_answered_in_order(int chunkSize)
    {
        using RawWebSocketClient client = await server.ConnectAsync();
        byte[][] pings = Enumerable.Range(0, 10).Select(i => Encoding.UTF8.GetBytes($"payload-{i}")).ToArray();

        await client.SendAsync(
            Frames.Concat([.. pings.Select(p => Frames.Build(Opcode.Ping, p)), Frames.Text("after ten pings")]),
            Ct,
            chunkSize: chunkSize);

        foreach (byte[] ping in pings)
        {
            Frame pong = await client.ReadFrameAsync();
            Assert.Equal(Opcode.Pong, pong.Opcode);
            Assert.Equal(ping, pong.Payload);
        }

        (byte opcode, byte[] echoed) = await client.ReadMessageAsync();
        Assert.Equal(Opcode.Text, opcode);
        Assert.Equal("after ten pings", Encoding.UTF8.GetString(echoed));
        await client.CloseNormallyAsync();
    }
}
