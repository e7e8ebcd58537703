namespace AspNetWebSockets.ConformanceTests;

/// <summary>Autobahn 3.x: RSV1–3 set while no extension was negotiated fail the connection.</summary>
public sealed class Family3_ReservedBits(EchoServer server)
{
    private const string RsvRule =
        "§5.2: \"RSV1, RSV2, RSV3: 1 bit each. MUST be 0 unless an extension is negotiated that defines meanings for non-zero " +
        "values. If a nonzero value is received and none of the negotiated extensions defines the meaning of such a nonzero " +
        "value, the receiving endpoint MUST _Fail the WebSocket Connection_.\"";

    public static TheoryData<string, int> FramesWithRsv()
    {
        var data = new TheoryData<string, int>();
        foreach (int rsv in new[] { 4, 2, 1, 6, 5, 3, 7 })
        {
            data.Add("text", rsv);
        }

        foreach (string kind in new[] { "binary", "ping" })
        {
            foreach (int rsv in new[] { 4, 2, 1 })
            {
                data.Add(kind, rsv);
            }
        }

        return data;
    }

    // RFC 6455 §5.2: "RSV1, RSV2, RSV3: 1 bit each. MUST be 0 unless an extension is negotiated that defines meanings
    // for non-zero values. If a nonzero value is received and none of the negotiated extensions defines the meaning of
    // such a nonzero value, the receiving endpoint MUST _Fail the WebSocket Connection_." (rsv: 4 = RSV1, 2 = RSV2, 1 = RSV3)
    [Theory]
    [MemberData(nameof(FramesWithRsv))]
    [Trait("RFC", RsvRule)]
    public async Task Frame_with_reserved_bits_fails_the_connection_with_1002(string kind, int rsv)
    {
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendExpectingFailureAsync(Frames.Build(Payloads.OpcodeOf(kind), Encoding.UTF8.GetBytes("Hello"), rsv: rsv));

        Assert.Equal(1002, await client.ReadCloseAsync());
    }

    // RFC 6455 §5.2 as above; frames before the bad one are processed normally (Autobahn 3.2: a valid text message,
    // then one with RSV2, then a ping — the first is echoed, then the connection fails, and the ping is not answered).
    [Fact]
    [Trait("RFC", RsvRule)]
    public async Task Valid_message_before_a_frame_with_RSV2_is_echoed_then_the_connection_fails()
    {
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendExpectingFailureAsync(Frames.Concat(
            Frames.Text("Hello"),
            Frames.Build(Opcode.Text, Encoding.UTF8.GetBytes("Hello"), rsv: 2),
            Frames.Build(Opcode.Ping, Encoding.UTF8.GetBytes("ping"))));

        (byte opcode, byte[] echoed) = await client.ReadMessageAsync();
        Assert.Equal(Opcode.Text, opcode);
        Assert.Equal("Hello", Encoding.UTF8.GetString(echoed));
        Assert.Equal(1002, await client.ReadCloseAsync());
    }
}
