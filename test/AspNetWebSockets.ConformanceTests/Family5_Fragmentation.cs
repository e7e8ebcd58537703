namespace AspNetWebSockets.ConformanceTests;

/// <summary>Autobahn 5.x: fragmented messages, control frames between fragments, and fragmentation errors.</summary>
public sealed class Family5_Fragmentation(EchoServer server)
{
    private const string FragmentRule =
        "§5.4: \"A fragmented message consists of a single frame with the FIN bit clear and an opcode other than 0, " +
        "followed by zero or more frames with the FIN bit clear and the opcode set to 0, and terminated by a single frame " +
        "with the FIN bit set and an opcode of 0.\"";

    private const string InterleaveRule =
        "§5.4: \"Control frames (see Section 5.5) MAY be injected in the middle of a fragmented message.\"";

    private const string ControlRule = "§5.4: \"Control frames themselves MUST NOT be fragmented.\"";

    private const string OrderRule =
        "§5.4: \"The fragments of one message MUST NOT be interleaved between the fragments of another message unless an " +
        "extension has been negotiated that can interpret the interleaving.\" §5.2: a continuation frame continues a message.";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // RFC 6455 §5.4: "A fragmented message consists of a single frame with the FIN bit clear and an opcode other than
    // 0, followed by zero or more frames with the FIN bit clear and the opcode set to 0, and terminated by a single
    // frame with the FIN bit set and an opcode of 0." (Autobahn 5.3–5.5, 5.19; also written one byte at a time)
    [Theory]
    [InlineData("text", 2, 0)]
    [InlineData("text", 5, 0)]
    [InlineData("binary", 3, 0)]
    [InlineData("text", 5, 1)]
    [Trait("RFC", FragmentRule)]
    public async Task Fragmented_message_is_echoed_whole(string kind, int fragments, int chunkSize)
    {
        byte opcode = Payloads.OpcodeOf(kind);
        string[] parts = Enumerable.Range(0, fragments).Select(i => $"fragment{i} ").ToArray();
        byte[] whole = Encoding.UTF8.GetBytes(string.Concat(parts));
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendAsync(
            Frames.Concat([.. parts.Select((p, i) => Frames.Build(i == 0 ? opcode : Opcode.Continuation, Encoding.UTF8.GetBytes(p), fin: i == fragments - 1))]),
            Ct,
            chunkSize: chunkSize);

        (byte echoedOpcode, byte[] echoed) = await client.ReadMessageAsync();
        Assert.Equal(opcode, echoedOpcode);
        Assert.Equal(whole, echoed);
        await client.CloseNormallyAsync();
    }

    // RFC 6455 §5.4: "Control frames (see Section 5.5) MAY be injected in the middle of a fragmented message." and
    // "An endpoint MUST be capable of handling control frames in the middle of a fragmented message." The pong comes
    // back before the message is complete, and the message is intact (Autobahn 5.6–5.8).
    [Fact]
    [Trait("RFC", InterleaveRule)]
    public async Task Ping_between_fragments_is_answered_and_the_message_is_intact()
    {
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendAsync(Frames.Concat(
            Frames.Build(Opcode.Text, Encoding.UTF8.GetBytes("fragment1"), fin: false),
            Frames.Build(Opcode.Ping, Encoding.UTF8.GetBytes("ping payload"))), Ct);

        // Answered while the message is still open: the pong must not wait for the final fragment.
        Frame pong = await client.ReadFrameAsync();
        Assert.Equal(Opcode.Pong, pong.Opcode);
        Assert.Equal("ping payload", Encoding.UTF8.GetString(pong.Payload));

        await client.SendAsync(Frames.Build(Opcode.Continuation, Encoding.UTF8.GetBytes("fragment2"), fin: true), Ct);
        (byte opcode, byte[] echoed) = await client.ReadMessageAsync();
        Assert.Equal(Opcode.Text, opcode);
        Assert.Equal("fragment1fragment2", Encoding.UTF8.GetString(echoed));
        await client.CloseNormallyAsync();
    }

    // RFC 6455 §5.4: "Control frames (see Section 5.5) MAY be injected in the middle of a fragmented message."; §5.5.3
    // "A response to an unsolicited Pong frame is not expected." (Autobahn 5.6)
    [Fact]
    [Trait("RFC", InterleaveRule)]
    public async Task Pong_between_fragments_is_ignored_and_the_message_is_intact()
    {
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendAsync(Frames.Concat(
            Frames.Build(Opcode.Text, Encoding.UTF8.GetBytes("fragment1"), fin: false),
            Frames.Build(Opcode.Pong, Encoding.UTF8.GetBytes("pong payload")),
            Frames.Build(Opcode.Continuation, Encoding.UTF8.GetBytes("fragment2"), fin: true)), Ct);

        (byte opcode, byte[] echoed) = await client.ReadMessageAsync();
        Assert.Equal(Opcode.Text, opcode);
        Assert.Equal("fragment1fragment2", Encoding.UTF8.GetString(echoed));
        await client.CloseNormallyAsync();
    }

    // RFC 6455 §5.4: "Control frames themselves MUST NOT be fragmented." and §5.5: "All control frames ... MUST NOT be
    // fragmented." (Autobahn 5.1, 5.2)
    [Theory]
    [InlineData("ping")]
    [InlineData("pong")]
    [Trait("RFC", ControlRule)]
    public async Task Fragmented_control_frame_fails_the_connection_with_1002(string kind)
    {
        byte opcode = kind == "ping" ? Opcode.Ping : Opcode.Pong;
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendExpectingFailureAsync(Frames.Concat(
            Frames.Build(opcode, Encoding.UTF8.GetBytes("fragment1"), fin: false),
            Frames.Build(Opcode.Continuation, Encoding.UTF8.GetBytes("fragment2"), fin: true)));

        Assert.Equal(1002, await client.ReadCloseAsync());
    }

    // RFC 6455 §5.4 (the message grammar above) and §5.2 "%x0 denotes a continuation frame": a continuation with no
    // message started continues nothing (Autobahn 5.9–5.14: FIN set or clear, alone or followed by more).
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    [Trait("RFC", FragmentRule)]
    public async Task Continuation_without_a_started_message_fails_the_connection_with_1002(bool fin)
    {
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendExpectingFailureAsync(Frames.Concat(
            Frames.Build(Opcode.Continuation, Encoding.UTF8.GetBytes("orphan"), fin: fin),
            Frames.Text("Hello")));

        Assert.Equal(1002, await client.ReadCloseAsync());
    }

    // RFC 6455 §5.4: "The fragments of one message MUST NOT be interleaved between the fragments of another message
    // unless an extension has been negotiated that can interpret the interleaving." (Autobahn 5.17/5.18 style)
    [Theory]
    [InlineData("text", true)]
    [InlineData("text", false)]
    [InlineData("binary", true)]
    [Trait("RFC", OrderRule)]
    public async Task New_data_frame_while_a_message_is_open_fails_the_connection_with_1002(string secondKind, bool secondFin)
    {
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendExpectingFailureAsync(Frames.Concat(
            Frames.Build(Opcode.Text, Encoding.UTF8.GetBytes("fragment1"), fin: false),
            Frames.Build(Payloads.OpcodeOf(secondKind), Encoding.UTF8.GetBytes("fragment2"), fin: secondFin)));

        Assert.Equal(1002, await client.ReadCloseAsync());
    }

    // RFC 6455 §5.4 (the grammar above, which places no lower bound on a fragment's length) and §5.6 "Data frames ...
    // carry application-layer ... data": empty fragments add nothing, at the start, middle and end.
    [Theory]
    [InlineData("", "", "")]
    [InlineData("", "middle", "")]
    [InlineData("start", "", "")]
    [InlineData("", "", "end")]
    [Trait("RFC", FragmentRule)]
    public async Task Empty_fragments_are_accepted_and_add_nothing(string first, string middle, string last)
    {
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendAsync(Frames.Concat(
            Frames.Build(Opcode.Text, Encoding.UTF8.GetBytes(first), fin: false),
            Frames.Build(Opcode.Continuation, Encoding.UTF8.GetBytes(middle), fin: false),
            Frames.Build(Opcode.Continuation, Encoding.UTF8.GetBytes(last), fin: true)), Ct);

        (byte opcode, byte[] echoed) = await client.ReadMessageAsync();
        Assert.Equal(Opcode.Text, opcode);
        Assert.Equal(first + middle + last, Encoding.UTF8.GetString(echoed));
        await client.CloseNormallyAsync();
    }
}
