namespace AspNetWebSockets.ConformanceTests;

/// <summary>Autobahn 9.x: large text and binary messages, in one frame and in 64 KiB fragments.</summary>
public sealed class Family9_LargeMessages(EchoServer server)
{
    private static readonly TimeSpan LargeTimeout = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, int, bool> Cases()
    {
        var data = new TheoryData<string, int, bool>();
        foreach (bool fragmented in new[] { false, true })
        {
            foreach (string kind in new[] { "text", "binary" })
            {
                foreach (int mebibytes in new[] { 1, 4, 16 })
                {
                    data.Add(kind, mebibytes, fragmented);
                }
            }
        }

        return data;
    }

    // RFC 6455 §5.2: "If 127, the following 8 bytes interpreted as a 64-bit unsigned integer ... are the payload
    // length." and §5.4 "A fragmented message consists of a single frame with the FIN bit clear ... terminated by a
    // single frame with the FIN bit set" — up to the endpoint's 16 MiB limit, whole or in 64 KiB fragments whose
    // boundaries split multi-byte UTF-8 characters (Autobahn 9.1.x, 9.2.x, 9.3.x/9.4.x).
    [Theory]
    [MemberData(nameof(Cases))]
    [Trait("RFC", "§5.2: \"If 127, the following 8 bytes interpreted as a 64-bit unsigned integer ... are the payload length.\"; §5.4 fragmentation.")]
    public async Task Large_message_is_echoed(string kind, int mebibytes, bool fragmented)
    {
        byte opcode = Payloads.OpcodeOf(kind);
        int length = mebibytes * 1024 * 1024;
        byte[] payload = opcode == Opcode.Text ? Payloads.MixedUtf8(length) : Payloads.Binary(length);
        using RawWebSocketClient client = await server.ConnectAsync();

        byte[] wire;
        if (fragmented)
        {
            byte[][] pieces = payload.Chunk(64 * 1024).ToArray();
            wire = Frames.Concat([.. pieces.Select((p, i) => Frames.Build(i == 0 ? opcode : Opcode.Continuation, p, fin: i == pieces.Length - 1))]);
        }
        else
        {
            wire = Frames.Build(opcode, payload);
        }

        // Write and read at once: the echo starts before a 16 MiB write has drained through the socket buffers.
        Task write = client.SendAsync(wire, Ct, timeout: LargeTimeout);
        (byte echoedOpcode, byte[] echoed) = await client.ReadMessageAsync(LargeTimeout);
        await write;

        Assert.Equal(opcode, echoedOpcode);
        Assert.Equal(length, echoed.Length);
        Assert.True(payload.AsSpan().SequenceEqual(echoed), "The echoed payload differs from the one sent.");
        await client.CloseNormallyAsync();
    }
}
