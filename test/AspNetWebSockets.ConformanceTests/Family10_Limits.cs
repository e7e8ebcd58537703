namespace AspNetWebSockets.ConformanceTests;

/// <summary>
/// Limits against hostile peers (Autobahn 1.x/9.x boundaries plus the advisories in ADVISORIES.md): declared lengths,
/// fragment floods and unmasked frames.
/// </summary>
public sealed class Family10_Limits(EchoServer server)
{
    private const string TooBigRule =
        "§7.4.1: \"1009 indicates that an endpoint is terminating the connection because it has received a message that is too big for it to process.\" §10.4: implementations \"SHOULD impose an appropriate limit on frame sizes and the total message size\".";

    private const string PolicyRule =
        "§7.4.1: \"1008 indicates that an endpoint is terminating the connection because it has received a message that violates its policy.\" §10.4 limits.";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // RFC 6455 §10.4: "Implementations that have implementation- and/or platform-specific limitations regarding the
    // frame size or total message size after reassembly from multiple frames MUST protect themselves against exceeding
    // those limits." §7.4.1 1009 — decided from the declared length, before any payload (ADVISORIES 5).
    [Theory]
    [InlineData(long.MaxValue)]
    [InlineData(EchoServer.LimitedMaxMessageSize + 1)]
    [InlineData(uint.MaxValue + 1L)]
    [Trait("RFC", TooBigRule)]
    public async Task Declared_length_over_the_limit_fails_with_1009_before_any_payload(long declared)
    {
        using RawWebSocketClient client = await server.ConnectAsync(EchoServer.LimitedPath);

        // The header alone: no payload byte follows it.
        await client.SendExpectingFailureAsync(Frames.Build(Opcode.Binary, [], declaredLength: (ulong)declared));

        Assert.Equal(1009, await client.ReadCloseAsync());
    }

    // RFC 6455 §5.2 as above: exactly the limit is still accepted.
    [Fact]
    [Trait("RFC", TooBigRule)]
    public async Task Message_of_exactly_the_limit_is_echoed()
    {
        byte[] payload = Payloads.Binary((int)EchoServer.LimitedMaxMessageSize);
        using RawWebSocketClient client = await server.ConnectAsync(EchoServer.LimitedPath);

        await client.SendAsync(Frames.Build(Opcode.Binary, payload), Ct);

        (byte opcode, byte[] echoed) = await client.ReadMessageAsync();
        Assert.Equal(Opcode.Binary, opcode);
        Assert.Equal(payload, echoed);
        await client.CloseNormallyAsync();
    }

    // RFC 6455 §10.4 "total message size after reassembly from multiple frames": two fragments each under the limit,
    // together over it, fail with 1009 (ADVISORIES 10: lengths accumulated across fragments).
    [Fact]
    [Trait("RFC", TooBigRule)]
    public async Task Fragments_that_together_exceed_the_limit_fail_with_1009()
    {
        using RawWebSocketClient client = await server.ConnectAsync(EchoServer.LimitedPath);

        await client.SendExpectingFailureAsync(Frames.Concat(
            Frames.Build(Opcode.Binary, Payloads.Binary(600), fin: false),
            Frames.Build(Opcode.Continuation, Payloads.Binary(600), fin: true)));

        Assert.Equal(1009, await client.ReadCloseAsync());
    }

    // RFC 6455 §5.2: "If 127, the following 8 bytes interpreted as a 64-bit unsigned integer (the most significant bit
    // MUST be 0) are the payload length." — a length with the MSB set is malformed: 1002, not 1009 (ADVISORIES 10).
    [Theory]
    [InlineData(0x8000_0000_0000_0000UL)]
    [InlineData(ulong.MaxValue)]
    [Trait("RFC", "§5.2: \"the following 8 bytes interpreted as a 64-bit unsigned integer (the most significant bit MUST be 0) are the payload length.\"")]
    public async Task Length_with_the_most_significant_bit_set_fails_with_1002(ulong declared)
    {
        using RawWebSocketClient client = await server.ConnectAsync(EchoServer.LimitedPath);

        await client.SendExpectingFailureAsync(Frames.Build(Opcode.Binary, [], declaredLength: declared));

        Assert.Equal(1002, await client.ReadCloseAsync());
    }

    // RFC 6455 §10.4 (limits) and §7.4.1 1008 policy violation: a message in more fragments than MaxFragmentsPerMessage
    // (1000 here), empty fragments counted, fails with 1008 (ADVISORIES 6, ws CVE-2026-48779).
    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    [Trait("RFC", PolicyRule)]
    public async Task Message_in_2000_fragments_fails_with_1008(int fragmentLength)
    {
        using RawWebSocketClient client = await server.ConnectAsync();
        byte[] piece = Payloads.Ascii(fragmentLength);

        await client.SendExpectingFailureAsync(Frames.Concat([.. Enumerable.Range(0, 2000).Select(i =>
            Frames.Build(i == 0 ? Opcode.Text : Opcode.Continuation, piece, fin: i == 1999))]));

        Assert.Equal(1008, await client.ReadCloseAsync());
    }

    // RFC 6455 §10.4 as above: exactly MaxFragmentsPerMessage fragments (1000) is within the limit and echoed.
    [Fact]
    [Trait("RFC", PolicyRule)]
    public async Task Message_in_exactly_the_fragment_limit_is_echoed()
    {
        using RawWebSocketClient client = await server.ConnectAsync();
        int count = EchoServer.MaxFragmentsPerMessage;

        await client.SendAsync(Frames.Concat([.. Enumerable.Range(0, count).Select(i =>
            Frames.Build(i == 0 ? Opcode.Text : Opcode.Continuation, "a"u8, fin: i == count - 1))]), Ct);

        (byte opcode, byte[] echoed) = await client.ReadMessageAsync();
        Assert.Equal(Opcode.Text, opcode);
        Assert.Equal(new string('a', count), Encoding.UTF8.GetString(echoed));
        await client.CloseNormallyAsync();
    }

    // RFC 6455 §5.1: "The server MUST close the connection upon receiving a frame that is not masked. In this case, a
    // server MAY send a Close frame with a status code of 1002 (protocol error)" (ADVISORIES 17).
    [Theory]
    [InlineData("text")]
    [InlineData("ping")]
    [Trait("RFC", "§5.1: \"The server MUST close the connection upon receiving a frame that is not masked. In this case, a server MAY send a Close frame with a status code of 1002\"")]
    public async Task Unmasked_client_frame_fails_with_1002(string kind)
    {
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendExpectingFailureAsync(Frames.Build(Payloads.OpcodeOf(kind), "Hello"u8, masked: false));

        Assert.Equal(1002, await client.ReadCloseAsync());
    }
}
