namespace AspNetWebSockets.ConformanceTests;

/// <summary>Autobahn 6.x: text messages must be valid UTF-8; invalid ones fail with 1007, as early as possible.</summary>
public sealed class Family6_Utf8(EchoServer server)
{
    private const string ValidRule =
        "§5.6: \"The \\\"Payload data\\\" is text data encoded as UTF-8.\" Every valid scalar value, edge cases included, is accepted and echoed.";

    private const string InvalidRule =
        "§8.1: \"When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream is not, in fact, a " +
        "valid UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_.\" §7.4.1: \"1007 indicates that an endpoint " +
        "is terminating the connection because it has received data within a message that was not consistent with the type of the message\"";

    private const string FailFastRule =
        "§8.1: \"This rule applies both during the opening handshake and during subsequent data exchange.\" (Autobahn 6.4: " +
        "fail fast — the invalid sequence is detected when it arrives, not when the message ends.)";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // RFC 6455 §5.6: "The "Payload data" is text data encoded as UTF-8." — every boundary of the UTF-8 encoding (RFC
    // 3629 §4 syntax) is valid and must be accepted and echoed byte for byte (Autobahn 6.2, 6.5, 6.6, 6.7–6.11).
    [Theory]
    [InlineData("")]                                      // empty text message
    [InlineData("00")]                                    // U+0000
    [InlineData("7F")]                                    // U+007F, last 1-byte
    [InlineData("C2 80")]                                 // U+0080, first 2-byte
    [InlineData("DF BF")]                                 // U+07FF, last 2-byte
    [InlineData("E0 A0 80")]                              // U+0800, first 3-byte
    [InlineData("ED 9F BF")]                              // U+D7FF, just below the surrogates
    [InlineData("EE 80 80")]                              // U+E000, just above the surrogates
    [InlineData("EF BF BD")]                              // U+FFFD
    [InlineData("EF BF BF")]                              // U+FFFF, last 3-byte (a noncharacter, still valid UTF-8)
    [InlineData("F0 90 80 80")]                           // U+10000, first 4-byte
    [InlineData("F4 8F BF BF")]                           // U+10FFFF, last code point
    [InlineData("CE BA E1 BD B9 CF 83 CE BC CE B5")]      // "κόσμε"
    [Trait("RFC", ValidRule)]
    public async Task Valid_UTF8_is_echoed(string hex)
    {
        byte[] payload = Frames.Hex(hex);
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendAsync(Frames.Build(Opcode.Text, payload), Ct);

        (byte opcode, byte[] echoed) = await client.ReadMessageAsync();
        Assert.Equal(Opcode.Text, opcode);
        Assert.Equal(payload, echoed);
        await client.CloseNormallyAsync();
    }

    // RFC 6455 §5.6 as above: validity is a property of the message, not of its frames, so a character split across
    // fragments, down to one byte per fragment, is valid (Autobahn 6.2.3/6.2.4).
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [Trait("RFC", ValidRule)]
    public async Task Valid_UTF8_split_across_fragments_is_echoed(int fragmentSize)
    {
        byte[] payload = Frames.Hex("CE BA E1 BD B9 CF 83 CE BC CE B5 F0 9F 98 80 F4 8F BF BF");
        byte[][] fragments = payload.Chunk(fragmentSize).ToArray();
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendAsync(Frames.Concat([.. fragments.Select((f, i) =>
            Frames.Build(i == 0 ? Opcode.Text : Opcode.Continuation, f, fin: i == fragments.Length - 1))]), Ct);

        (byte opcode, byte[] echoed) = await client.ReadMessageAsync();
        Assert.Equal(Opcode.Text, opcode);
        Assert.Equal(payload, echoed);
        await client.CloseNormallyAsync();
    }

    // RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream is not, in
    // fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_." with §7.4.1 code 1007
    // (Autobahn 6.3, 6.8, 6.10–6.21; forms from RFC 3629 §3/§10).
    [Theory]
    [InlineData("C0 AF")]                                 // overlong "/" (2 bytes)
    [InlineData("C1 BF")]                                 // overlong U+007F
    [InlineData("E0 80 AF")]                              // overlong "/" (3 bytes)
    [InlineData("E0 9F BF")]                              // overlong U+07FF
    [InlineData("F0 80 80 AF")]                           // overlong "/" (4 bytes)
    [InlineData("F0 8F BF BF")]                           // overlong U+FFFF
    [InlineData("ED A0 80")]                              // U+D800, high surrogate
    [InlineData("ED BF BF")]                              // U+DFFF, low surrogate
    [InlineData("ED A0 80 ED B0 80")]                     // surrogate pair encoded CESU-style
    [InlineData("F4 90 80 80")]                           // U+110000, above U+10FFFF
    [InlineData("F5 80 80 80")]                           // lead byte F5
    [InlineData("F8 88 80 80 80")]                        // 5-byte form
    [InlineData("FE")]                                    // never valid
    [InlineData("FF")]                                    // never valid
    [InlineData("80")]                                    // lone continuation byte
    [InlineData("61 BF 62")]                              // continuation byte between ASCII
    [InlineData("C2 41")]                                 // lead byte followed by ASCII
    [InlineData("CE BA E1 BD B9 CF 83 CE BC CE B5 ED A0 80 65 64 69 74 65 64")] // "κόσμε" + surrogate + "edited" (6.3.1)
    [InlineData("E2 82")]                                 // truncated at end of message (3-byte, 2 sent)
    [InlineData("F0 9F 98")]                              // truncated at end of message (4-byte, 3 sent)
    [InlineData("CE BA E1")]                              // "κ" then a truncated lead byte
    [Trait("RFC", InvalidRule)]
    public async Task Invalid_UTF8_fails_the_connection_with_1007(string hex)
    {
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendExpectingFailureAsync(Frames.Build(Opcode.Text, Frames.Hex(hex)));

        Assert.Equal(1007, await client.ReadCloseAsync());
    }

    // RFC 6455 §8.1 as above, and fail fast (Autobahn 6.4.1/6.4.2): a valid first fragment, then a fragment holding an
    // invalid sequence, *without* FIN — the server must send 1007 before the message's final fragment exists.
    [Theory]
    [InlineData("CE BA E1 BD B9", "F4 90 80 80")]         // whole invalid sequence (> U+10FFFF) in the second fragment
    [InlineData("CE BA E1 BD B9", "C0 AF")]               // overlong in the second fragment
    [InlineData("CE BA E1 BD B9 ED", "A0 80")]            // surrogate split across the fragment boundary
    [InlineData("CE BA E1 BD B9", "80")]                  // lone continuation starting the second fragment
    [Trait("RFC", FailFastRule)]
    public async Task Invalid_UTF8_in_a_later_fragment_fails_before_the_final_fragment(string firstHex, string badHex)
    {
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendAsync(Frames.Build(Opcode.Text, Frames.Hex(firstHex), fin: false), Ct);
        await client.SendExpectingFailureAsync(Frames.Build(Opcode.Continuation, Frames.Hex(badHex), fin: false));

        // No final fragment is ever sent: a server that validates only whole messages times out here.
        Assert.Equal(1007, await client.ReadCloseAsync());
    }

    // RFC 6455 §8.1 as above: a sequence left incomplete by the final fragment (the final fragment itself empty) is
    // invalid at the end of the message (Autobahn 6.4.4-style, truncation across fragments).
    [Fact]
    [Trait("RFC", InvalidRule)]
    public async Task Sequence_truncated_by_the_end_of_a_fragmented_message_fails_with_1007()
    {
        using RawWebSocketClient client = await server.ConnectAsync();

        await client.SendExpectingFailureAsync(Frames.Concat(
            Frames.Build(Opcode.Text, Frames.Hex("CE BA E2 82"), fin: false),
            Frames.Build(Opcode.Continuation, [], fin: true)));

        Assert.Equal(1007, await client.ReadCloseAsync());
    }

    // RFC 6455 §8.1 as above, fail fast within one frame (Autobahn 6.4.3): a frame declaring 20 bytes of which only the
    // first 8 are sent, holding an invalid sequence — the server should fail before the rest of the frame arrives.
    [Fact]
    [Trait("RFC", FailFastRule)]
    public async Task Invalid_UTF8_in_a_partly_sent_frame_fails_before_the_frame_is_complete()
    {
        byte[] payload = Frames.Hex("CE BA F4 90 80 80 65 64 69 74 65 64 2D 2D 2D 2D 2D 2D 2D 2D");
        byte[] frame = Frames.Build(Opcode.Text, payload);
        using RawWebSocketClient client = await server.ConnectAsync();

        // Header (2 + 4 mask bytes) and the first 8 payload bytes only; the other 12 are never sent.
        await client.SendExpectingFailureAsync(frame[..(6 + 8)]);

        Assert.Equal(1007, await client.ReadCloseAsync());
    }
}
