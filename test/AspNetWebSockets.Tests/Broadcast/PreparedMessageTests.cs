using System.Buffers;
using System.Net.WebSockets;
using AspNetWebSockets.Broadcast;
using AspNetWebSockets.Compression;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets.Tests.Broadcast;

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

        ReadOnlyMemory<byte> first = message.GetCompressedFrame(15, 6, 8);
        ReadOnlyMemory<byte> again = message.GetCompressedFrame(15, 6, 8);
        ReadOnlyMemory<byte> smaller = message.GetCompressedFrame(10, 6, 8);

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
}
