namespace AspNetWebSockets.ConformanceTests;

/// <summary>Autobahn 4.x: reserved non-control (3–7) and control (0xB–0xF) opcodes fail the connection.</summary>
public sealed class Family4_Opcodes(EchoServer server)
{
    private const string OpcodeRule =
        "§5.2: \"%x3-7 are reserved for further non-control frames ... %xB-F are reserved for further control frames\"; " +
        "\"If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket Connection_.\"";

    // RFC 6455 §5.2: "Opcode: 4 bits ... %x3-7 are reserved for further non-control frames ... %xB-F are reserved for
    // further control frames". "If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket
    // Connection_." (Autobahn 4.1.1–4.2.5, with and without a payload)
    [Theory]
    [InlineData(0x3, 0)]
    [InlineData(0x4, 5)]
    [InlineData(0x5, 0)]
    [InlineData(0x6, 5)]
    [InlineData(0x7, 0)]
    [InlineData(0xB, 0)]
    [InlineData(0xC, 5)]
    [InlineData(0xD, 0)]
    [InlineData(0xE, 5)]
    [InlineData(0xF, 0)]
    [Trait("RFC", OpcodeRule)]
    public async Task Reserved_opcode_fails_the_connection_with_1002(int opcode, int length)
    {
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendExpectingFailureAsync(Frames.Build((byte)opcode, Payloads.Ascii(length)));

        Assert.Equal(1002, await client.ReadCloseAsync());
    }

    // RFC 6455 §5.2 as above (Autobahn 4.1.3/4.2.3: a valid message, a reserved opcode, a ping — the message is
    // echoed, the connection fails, and the ping after the bad frame is not answered).
    [Theory]
    [InlineData(0x5)]
    [InlineData(0xD)]
    [Trait("RFC", OpcodeRule)]
    public async Task Valid_message_before_a_reserved_opcode_is_echoed_then_the_connection_fails(int opcode)
    {
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendExpectingFailureAsync(Frames.Concat(
            Frames.Text("Hello"),
            Frames.Build((byte)opcode, []),
            Frames.Build(Opcode.Ping, Encoding.UTF8.GetBytes("ping"))));

        (byte echoedOpcode, byte[] echoed) = await client.ReadMessageAsync();
        Assert.Equal(Opcode.Text, echoedOpcode);
        Assert.Equal("Hello", Encoding.UTF8.GetString(echoed));
        Assert.Equal(1002, await client.ReadCloseAsync());
    }
}
