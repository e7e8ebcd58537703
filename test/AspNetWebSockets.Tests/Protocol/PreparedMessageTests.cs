using System.Buffers;
using System.Net.WebSockets;
using AspNetWebSockets.Compression;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets.Tests.Protocol;

/// <summary>Frame once, compress once: the shared frames a broadcast writes to every member.</summary>
public sealed class PreparedMessageTests
{
    [Fact]
    public void The_uncompressed_frame_is_a_valid_unmasked_final_frame()
    {
        PreparedMessage message = PreparedMessage.Create("hello"u8, WebSocketMessageType.Text);
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(message.Frame));

        Assert.True(FrameReader.TryReadHeader(ref reader, WebSocketRole.Client, out FrameHeader header, out _));
        Assert.True(header.Fin);
        Assert.Equal(WebSocketOpcode.Text, header.Opcode);
        Assert.Equal(0, header.ReservedBits);
        Assert.Equal("hello"u8.ToArray(), message.Payload.ToArray());
    }

    [Fact]
    public void A_compressed_frame_is_made_once_per_window_size_and_inflates_without_context()
    {
        byte[] text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"room\":\"lobby\",\"text\":\"hello\"} ", 200)));
        PreparedMessage message = PreparedMessage.Create(text, WebSocketMessageType.Text);

        ReadOnlyMemory<byte> first = EncodedFrame(message, Session(15));
        ReadOnlyMemory<byte> again = EncodedFrame(message, Session(15)); // another member with the same window
        ReadOnlyMemory<byte> smaller = EncodedFrame(message, Session(10));

        Assert.True(first.Equals(again)); // the very same bytes for every member with this window
        Assert.Equal(2, message.CompressionCount);
        foreach (ReadOnlyMemory<byte> frame in new[] { first, smaller })
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(frame));
            Assert.True(FrameReader.TryReadHeader(ref reader, WebSocketRole.Client, out FrameHeader header, out _));
            Assert.True(header.Rsv1);
            Assert.True(header.PayloadLength < text.Length / 4);

            // A peer without context takeover inflates each message with a fresh state.
            using var inflater = new MessageInflater(15, contextTakeover: false);
            Span<byte> input = inflater.GetInputSpan();
            frame.Span[(int)reader.Consumed..].CopyTo(input);
            inflater.CommitInput((int)header.PayloadLength, endOfMessage: true);
            byte[] output = new byte[text.Length + 16];
            Assert.Equal(InflateStatus.MessageComplete, inflater.Inflate(output, out int written));
            Assert.Equal(text, output[..written]);
        }
    }

    [Fact]
    public void A_message_below_the_compression_threshold_is_shared_as_the_plain_frame()
    {
        PreparedMessage message = PreparedMessage.Create("hi"u8, WebSocketMessageType.Text);

        ReadOnlyMemory<byte> frame = EncodedFrame(message, Session(15, minMessageSize: 64));

        Assert.True(frame.Equals(message.Frame));
        Assert.Equal(0, message.CompressionCount);
    }

    [Fact]
    public void A_session_with_context_takeover_has_no_shared_encoding()
    {
        using var session = new PerMessageDeflateSession(new PerMessageDeflateParameters(15, ServerNoContextTakeover: false, 15, false), new WebSocketCompressionOptions(), WebSocketRole.Server);

        Assert.Null(session.SharedEncodingKey);
    }

    /// <summary>A server session without context takeover, whose per-message encoding every such session shares.</summary>
    private static PerMessageDeflateSession Session(int windowBits, int minMessageSize = 0) =>
        new(new PerMessageDeflateParameters(windowBits, ServerNoContextTakeover: true, 15, ClientNoContextTakeover: false),
            new WebSocketCompressionOptions { MinMessageSize = minMessageSize },
            WebSocketRole.Server);

    private static ReadOnlyMemory<byte> EncodedFrame(PreparedMessage message, PerMessageDeflateSession session)
    {
        using (session)
        {
            return message.GetEncodedFrame(session.SharedEncodingKey!, session, ReservedBit.Rsv1);
        }
    }
}
