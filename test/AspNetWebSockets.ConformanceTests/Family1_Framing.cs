namespace AspNetWebSockets.ConformanceTests;

/// <summary>Autobahn 1.x: text and binary messages at every payload-length encoding boundary, whole and in small writes.</summary>
public sealed class Family1_Framing(EchoServer server)
{
    private const string LengthRule =
        "§5.2: \"Payload length: 7 bits, 7+16 bits, or 7+64 bits ... If 0-125, that is the payload length. If 126, the " +
        "following 2 bytes interpreted as a 16-bit unsigned integer are the payload length. If 127, the following 8 bytes " +
        "interpreted as a 64-bit unsigned integer ... are the payload length.\"";

    private const string StreamRule =
        "§5.2 / §5.4: frames are a byte stream over TCP; \"an intermediary might coalesce and/or split frames\", so a frame " +
        "arriving in arbitrary TCP segments is the same frame.";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, int> KindsAndLengths()
    {
        var data = new TheoryData<string, int>();
        foreach (string kind in new[] { "text", "binary" })
        {
            foreach (int length in new[] { 0, 125, 126, 127, 128, 65535, 65536 })
            {
                data.Add(kind, length);
            }
        }

        return data;
    }

    public static TheoryData<string, int, int> KindsLengthsAndChunks()
    {
        var data = new TheoryData<string, int, int>();
        foreach (string kind in new[] { "text", "binary" })
        {
            foreach (int length in new[] { 0, 125, 126, 127, 128, 65535, 65536 })
            {
                foreach (int chunk in new[] { 997, 1 })
                {
                    data.Add(kind, length, chunk);
                }
            }
        }

        return data;
    }

    // RFC 6455 §5.2: "If 0-125, that is the payload length. If 126, the following 2 bytes interpreted as a 16-bit
    // unsigned integer are the payload length. If 127, the following 8 bytes interpreted as a 64-bit unsigned integer
    // (the most significant bit MUST be 0) are the payload length."
    [Theory]
    [MemberData(nameof(KindsAndLengths))]
    [Trait("RFC", LengthRule)]
    public async Task Message_of_boundary_length_is_echoed(string kind, int length)
    {
        await EchoAsync(kind, length, chunk: 0);
    }

    // RFC 6455 §5.4: "an intermediary might coalesce and/or split frames" — TCP segmentation must not change a frame's
    // meaning, down to one byte per write (Autobahn 1.1.7/1.1.8: "chops of 997 octets" and "chops of 1 octet").
    [Theory]
    [MemberData(nameof(KindsLengthsAndChunks))]
    [Trait("RFC", StreamRule)]
    public async Task Message_written_in_chunks_is_echoed(string kind, int length, int chunk)
    {
        await EchoAsync(kind, length, chunk);
    }

    private async Task EchoAsync(string kind, int length, int chunk)
    {
        byte opcode = Payloads.OpcodeOf(kind);
        byte[] payload = Payloads.For(opcode, length);
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendAsync(Frames.Build(opcode, payload), Ct, chunkSize: chunk, timeout: TimeSpan.FromSeconds(30));

        (byte echoedOpcode, byte[] echoed) = await client.ReadMessageAsync();
        Assert.Equal(opcode, echoedOpcode);
        Assert.Equal(payload, echoed);
        await client.CloseNormallyAsync();
    }

    // RFC 6455 §5.2: "In all cases, the minimal number of bytes MUST be used to encode the length, for example, the
    // length of a 124-byte-long string can't be encoded as the sequence 126, 0, 124." The library enforces the rule on
    // receipt (documented in its FrameReader) and fails such frames as a protocol error, 1002.
    [Theory]
    [InlineData(5, 2)]
    [InlineData(124, 2)]
    [InlineData(5, 8)]
    [InlineData(65535, 8)]
    [Trait("RFC", "§5.2: \"In all cases, the minimal number of bytes MUST be used to encode the length\"")]
    public async Task Non_minimal_length_encoding_fails_with_1002(int length, int lengthBytes)
    {
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendExpectingFailureAsync(Frames.Build(Opcode.Binary, Payloads.Binary(length), lengthBytes: lengthBytes));

        Assert.Equal(1002, await client.ReadCloseAsync());
    }
}
