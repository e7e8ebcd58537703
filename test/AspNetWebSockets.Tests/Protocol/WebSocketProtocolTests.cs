using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using AspNetWebSockets.Compression;
using AspNetWebSockets.Protocol;
using Xunit;

namespace AspNetWebSockets.Tests.Protocol;

/// <summary>
/// The protocol object on its own, no I/O: the close state machine (RFC 6455 §7), the idle control read, the rules
/// applied after an extension decodes (RFC 7692 with RFC 6455's limits and UTF-8), and framing of sends.
/// </summary>
public sealed class WebSocketProtocolTests
{
    private static readonly DecoderLimits Limits = new(1 << 20, 1 << 20, 64);

    private static ProtocolEvent Receive(WebSocketProtocol protocol, byte[] wire, byte[] destination, out int written, out bool endOfMessage, out long consumed)
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(wire));
        ProtocolEvent received = protocol.Receive(ref reader, destination, out written, out endOfMessage);
        consumed = reader.Consumed;
        return received;
    }

    [Theory]
    [InlineData(4000, "bye ✓")]
    [InlineData(1000, "")]
    public void The_peers_close_moves_to_Closing_and_its_echo_carries_code_and_reason(int code, string reason)
    {
        var protocol = new WebSocketProtocol(WebSocketRole.Server, Limits);

        ProtocolEvent received = Receive(protocol, Frames.Masked(WebSocketOpcode.Close, true, Frames.ClosePayload(code, reason)), new byte[16], out _, out _, out _);

        Assert.Equal(ProtocolEvent.Close, received);
        Assert.Equal(new WebSocketCloseInfo(code, reason, WasClean: true), protocol.PeerClose);
        Assert.True(protocol.CloseReceived);
        Assert.Equal(WebSocketReadyState.Closing, protocol.State);
        Assert.True(protocol.TryBeginCloseEcho(out ReadOnlyMemory<byte> echo));
        Assert.Equal(Frames.ClosePayload(code, reason), echo.ToArray());
        Assert.False(protocol.TryBeginCloseEcho(out _)); // RFC 6455 §5.5.1: one close frame
    }

    [Fact]
    public void A_close_without_a_code_is_1005_and_is_echoed_empty()
    {
        var protocol = new WebSocketProtocol(WebSocketRole.Server, Limits);

        Receive(protocol, Frames.Masked(WebSocketOpcode.Close, true, []), new byte[16], out _, out _, out _);

        Assert.Equal(WebSocketCloseCode.NoStatusReceived, protocol.PeerClose?.Code);
        Assert.True(protocol.TryBeginCloseEcho(out ReadOnlyMemory<byte> echo));
        Assert.True(echo.IsEmpty);
    }

    [Fact]
    public void Our_close_frame_is_claimed_once_and_Closed_is_entered_once()
    {
        var protocol = new WebSocketProtocol(WebSocketRole.Server, Limits);

        Assert.True(protocol.TryBeginClose(4000, "bye", out ReadOnlyMemory<byte> payload));
        Assert.Equal(Frames.ClosePayload(4000, "bye"), payload.ToArray());
        Assert.False(protocol.TryBeginClose(1000, null, out payload)); // RFC 6455 §5.5.1: one close frame
        Assert.True(payload.IsEmpty);
        Assert.True(protocol.CloseSent);
        Assert.Equal(WebSocketReadyState.Closing, protocol.State);
        Assert.True(protocol.TryEnterClosed());
        Assert.False(protocol.TryEnterClosed());
        Assert.Equal(WebSocketReadyState.Closed, protocol.State);
    }

    [Fact]
    public void An_invalid_close_is_refused_before_anything_is_claimed_even_after_the_close()
    {
        var protocol = new WebSocketProtocol(WebSocketRole.Server, Limits);

        Assert.Throws<ArgumentOutOfRangeException>(() => protocol.TryBeginClose(WebSocketCloseCode.NoStatusReceived, null, out _));
        Assert.Throws<ArgumentException>(() => protocol.TryBeginClose(1000, new string('x', 124), out _));
        Assert.False(protocol.CloseSent);
        Assert.Equal(WebSocketReadyState.Open, protocol.State);

        Assert.True(protocol.TryBeginClose(1000, null, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => protocol.TryBeginClose(999, null, out _)); // still the caller's bug
    }

    [Theory]
    [InlineData("InvalidUtf8", 1007)]
    [InlineData("MessageTooBig", 1009)]
    [InlineData("UnmaskedFrame", 1002)]
    public void Failing_sends_the_violations_code_without_a_reason_and_reports_it_described(string name, int code)
    {
        var protocol = new WebSocketProtocol(WebSocketRole.Server, Limits);
        ProtocolViolation violation = Enum.Parse<ProtocolViolation>(name);

        Assert.True(protocol.TryBeginFail(violation, out ReadOnlyMemory<byte> payload, out WebSocketCloseInfo outcome));

        Assert.Equal(Frames.ClosePayload(code), payload.ToArray());
        Assert.Equal(new WebSocketCloseInfo(code, violation.Describe(), WasClean: false), outcome);
        Assert.Equal(WebSocketReadyState.Closing, protocol.State);

        // After our close frame went out, a failure sends nothing more but still says how the connection ended.
        Assert.False(protocol.TryBeginFail(ProtocolViolation.InvalidUtf8, out payload, out outcome));
        Assert.True(payload.IsEmpty);
        Assert.Equal(1007, outcome.Code);
    }

    [Fact]
    public void A_pings_answer_carries_the_pings_payload()
    {
        var protocol = new WebSocketProtocol(WebSocketRole.Server, Limits);

        Assert.Equal(ProtocolEvent.Ping, Receive(protocol, Frames.Masked(WebSocketOpcode.Ping, true, "stamp"u8), new byte[16], out _, out _, out _));

        Assert.Equal("stamp"u8.ToArray(), protocol.PongPayload.ToArray()); // RFC 6455 §5.5.3
    }

    [Fact]
    public void The_idle_read_takes_whole_control_frames_and_stops_at_a_data_frame()
    {
        var protocol = new WebSocketProtocol(WebSocketRole.Server, Limits);
        byte[] wire = Frames.Concat(
            Frames.Masked(WebSocketOpcode.Pong, true, "a"u8),
            Frames.Masked(WebSocketOpcode.Ping, true, "b"u8),
            Frames.Masked(WebSocketOpcode.Text, true, "data"u8),
            Frames.Masked(WebSocketOpcode.Ping, true, "c"u8));
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(wire));

        Assert.Equal(ProtocolEvent.Pong, protocol.ReceiveControlFrame(ref reader));
        Assert.Equal(ProtocolEvent.Ping, protocol.ReceiveControlFrame(ref reader));
        Assert.Equal("b"u8.ToArray(), protocol.ControlPayload.ToArray());
        long beforeData = reader.Consumed;
        Assert.Equal(ProtocolEvent.NeedMoreData, protocol.ReceiveControlFrame(ref reader));
        Assert.Equal(beforeData, reader.Consumed); // the data frame (and the ping behind it) wait for the application
    }

    [Fact]
    public void The_idle_read_leaves_a_split_or_invalid_control_frame_for_Receive()
    {
        var protocol = new WebSocketProtocol(WebSocketRole.Server, Limits);
        byte[] ping = Frames.Masked(WebSocketOpcode.Ping, true, "hello"u8);
        var partial = new SequenceReader<byte>(new ReadOnlySequence<byte>(ping[..^1]));
        Assert.Equal(ProtocolEvent.NeedMoreData, protocol.ReceiveControlFrame(ref partial));
        Assert.Equal(0, partial.Consumed);

        // Close code 1005 may not be sent: the idle read consumes nothing, and Receive fails it with 1002.
        byte[] badClose = Frames.Masked(WebSocketOpcode.Close, true, Frames.ClosePayload(1005));
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(badClose));
        Assert.Equal(ProtocolEvent.NeedMoreData, protocol.ReceiveControlFrame(ref reader));
        Assert.Equal(0, reader.Consumed);
        Assert.False(protocol.CloseReceived);
        Assert.Equal(ProtocolEvent.Violation, Receive(protocol, badClose, new byte[16], out _, out _, out _));
        Assert.Equal(1002, protocol.Violation.ToCloseCode());
    }

    [Fact]
    public void The_idle_read_takes_nothing_inside_a_fragmented_frame()
    {
        var protocol = new WebSocketProtocol(WebSocketRole.Server, Limits);
        byte[] text = Frames.Masked(WebSocketOpcode.Text, true, "0123456789"u8);
        Assert.Equal(ProtocolEvent.Data, Receive(protocol, text[..8], new byte[64], out _, out _, out _)); // half the payload

        // The next bytes are payload, even if they look like a ping header.
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Frames.Masked(WebSocketOpcode.Ping, true, [])));
        Assert.Equal(ProtocolEvent.NeedMoreData, protocol.ReceiveControlFrame(ref reader));
        Assert.Equal(0, reader.Consumed);
    }

    [Fact]
    public void A_compressed_message_round_trips_through_the_extension_and_is_counted_after_decoding()
    {
        (WebSocketProtocol client, WebSocketProtocol server) = DeflatePair(new DecoderLimits(1 << 20, 1 << 20, 64));
        byte[] text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("héllo wörld ", 500)));

        byte[] wire = Send(client, WebSocketOpcode.Text, text);
        byte[] received = ReceiveAll(server, wire, destinationSize: 100, out ProtocolEvent last);

        Assert.Equal(ProtocolEvent.Data, last);
        Assert.True(wire.Length < text.Length / 10, $"{wire.Length} bytes on the wire for {text.Length}");
        Assert.Equal(text, received);
        Assert.Equal(WebSocketMessageType.Text, server.MessageType);
    }

    [Fact]
    public void The_message_limit_applies_to_decompressed_bytes_a_bomb_stops_with_1009()
    {
        (WebSocketProtocol client, WebSocketProtocol server) = DeflatePair(new DecoderLimits(4096, 1 << 20, 64));
        byte[] zeros = new byte[1 << 20]; // compresses to about a kilobyte

        byte[] wire = Send(client, WebSocketOpcode.Binary, zeros);
        byte[] received = ReceiveAll(server, wire, destinationSize: 1024, out ProtocolEvent last);

        Assert.True(wire.Length < 4096);
        Assert.Equal(ProtocolEvent.Violation, last);
        Assert.Equal(ProtocolViolation.MessageTooBig, server.Violation);
        Assert.InRange(received.Length, 0, 4096 + 1024); // it never held more than the limit and one buffer
    }

    [Fact]
    public void Compressed_text_that_decodes_to_invalid_UTF8_is_1007()
    {
        (WebSocketProtocol client, WebSocketProtocol server) = DeflatePair(new DecoderLimits(1 << 20, 1 << 20, 64));

        // The client side is ours and would refuse invalid text, so frame the compressed bytes by hand.
        using var deflater = new MessageDeflater(6, 15, 8, contextTakeover: false);
        using var compressed = new PooledBufferWriter();
        deflater.Compress([0x68, 0xC3, 0x28, 0x69], compressed);
        var wire = new ArrayBufferWriter<byte>();
        client.WriteFrame(wire, WebSocketOpcode.Text, fin: true, ReservedBit.Rsv1, compressed.WrittenSpan);

        ReceiveAll(server, wire.WrittenSpan.ToArray(), destinationSize: 64, out ProtocolEvent last);

        Assert.Equal(ProtocolEvent.Violation, last);
        Assert.Equal(1007, server.Violation.ToCloseCode());
    }

    [Fact]
    public void An_extension_must_claim_a_reserved_bit()
    {
        using var session = new PerMessageDeflateSession(new PerMessageDeflateParameters(15, false, 15, false), new WebSocketCompressionOptions(), WebSocketRole.Server);

        Assert.Throws<ArgumentOutOfRangeException>(() => new WebSocketProtocol(WebSocketRole.Server, Limits, session, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WebSocketProtocol(WebSocketRole.Server, Limits, session, 0x80));
    }

    [Fact]
    public void Receiving_and_sending_whole_messages_allocates_nothing_in_steady_state()
    {
        var server = new WebSocketProtocol(WebSocketRole.Server, Limits);
        byte[] wire = Frames.Masked(WebSocketOpcode.Binary, true, new byte[64]);
        byte[] destination = new byte[128];
        var output = new ArrayBufferWriter<byte>(1024);
        byte[] payload = new byte[64];

        // No assertion inside the measured loop: the assertion library allocates.
        bool RoundTrip()
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(wire));
            bool whole = server.Receive(ref reader, destination, out int written, out bool end) == ProtocolEvent.Data && end && written == 64;
            output.ResetWrittenCount();
            server.WriteFrame(output, WebSocketOpcode.Binary, fin: true, 0, payload);
            return whole;
        }

        Assert.True(RoundTrip()); // warm up
        int wholeMessages = 0;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            wholeMessages += RoundTrip() ? 1 : 0;
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(1000, wholeMessages);
        Assert.Equal(0, allocated);
    }

    /// <summary>A client and a server that negotiated permessage-deflate with context takeover both ways.</summary>
    private static (WebSocketProtocol Client, WebSocketProtocol Server) DeflatePair(DecoderLimits limits)
    {
        var agreed = new PerMessageDeflateParameters(15, false, 15, false);
        var options = new WebSocketCompressionOptions { MinMessageSize = 0 };
        return (
            new WebSocketProtocol(WebSocketRole.Client, limits, new PerMessageDeflateSession(agreed, options, WebSocketRole.Client), ReservedBit.Rsv1),
            new WebSocketProtocol(WebSocketRole.Server, limits, new PerMessageDeflateSession(agreed, options, WebSocketRole.Server), ReservedBit.Rsv1));
    }

    /// <summary>How a driver sends a whole message: encode through the extension, frame with its bits, release.</summary>
    private static byte[] Send(WebSocketProtocol protocol, WebSocketOpcode opcode, byte[] payload)
    {
        var wire = new ArrayBufferWriter<byte>();
        Assert.True(protocol.TryEncode(payload, out ReadOnlyMemory<byte> encoded));
        protocol.WriteFrame(wire, opcode, fin: true, protocol.ExtensionBits, encoded.Span);
        protocol.ReleaseEncoded();
        return wire.WrittenSpan.ToArray();
    }

    /// <summary>Receives until the message ends, the input runs out, or a violation; returns the decoded bytes.</summary>
    private static byte[] ReceiveAll(WebSocketProtocol protocol, byte[] wire, int destinationSize, out ProtocolEvent last)
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(wire));
        var received = new ArrayBufferWriter<byte>();
        byte[] destination = new byte[destinationSize];
        for (int calls = 0; calls < 100_000; calls++)
        {
            last = protocol.Receive(ref reader, destination, out int written, out bool endOfMessage);
            if (last != ProtocolEvent.Data)
            {
                return received.WrittenSpan.ToArray();
            }

            received.Write(destination.AsSpan(0, written));
            if (endOfMessage)
            {
                return received.WrittenSpan.ToArray();
            }
        }

        throw new InvalidOperationException("the protocol did not finish within 100,000 calls");
    }
}
