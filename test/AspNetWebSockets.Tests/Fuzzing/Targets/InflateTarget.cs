using System.Buffers;
using System.IO.Compression;
using AspNetWebSockets.Compression;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets.Fuzzing;

/// <summary>
/// Target "inflate": permessage-deflate's receive side as the connection runs it — <see cref="WebSocketProtocol"/> with a
/// <see cref="PerMessageDeflateSession"/> — over arbitrary compressed messages, each sent as one masked RSV1 frame and
/// delivered in arbitrary pieces, with a small receive buffer and a decompressed-size cap; plus round trips through
/// <see cref="MessageDeflater"/> and through a stock DEFLATE encoder that ends each message with a BFINAL block.
/// </summary>
/// <remarks>
/// Input layout: 5 configuration bytes, then messages, each a little-endian 16-bit length and that many bytes.
/// <list type="number">
/// <item>bits 0–2 window bits 9–15, bit 3 context takeover, bits 4–5 mode: 0 or 3 raw compressed input,
/// 1 round trip through MessageDeflater, 2 round trip through <see cref="DeflateStream"/> (one finished stream per
/// message, window 15).</item>
/// <item>receive buffer: 1–256 bytes.</item>
/// <item>cap on decompressed bytes per message (raw mode): 256 B – 64 KiB.</item>
/// <item>split seed for the input pieces.</item>
/// <item>compression level for the round trips, 1–9.</item>
/// </list>
/// Invariants: nothing throws; output never exceeds the buffer; once a message's last byte has arrived, the protocol
/// finishes the message or fails it (else the receive loop would wait for input that never comes); corrupt data fails
/// with 1007 and an oversized message with 1009; round trips reproduce the messages exactly.
/// </remarks>
internal static class InflateTarget
{
    public static void Run(ReadOnlySpan<byte> data)
    {
        var input = new FuzzInput(data);
        byte flags = input.Byte();
        int outputSize = 1 + input.Byte();
        int cap = (input.Byte() + 1) * 256;
        var splitter = new Splitter(input.Byte());
        int level = 1 + (input.Byte() % 9);

        int windowBits = 9 + ((flags & 7) % 7);
        bool contextTakeover = (flags & 8) != 0;
        int mode = (flags >> 4) & 3;
        if (mode == 2)
        {
            windowBits = 15; // DeflateStream always compresses with a 32 KiB window
        }

        long limit = mode is 1 or 2 ? long.MaxValue : cap;
        var session = new PerMessageDeflateSession(
            new PerMessageDeflateParameters(windowBits, !contextTakeover, windowBits, !contextTakeover), new WebSocketCompressionOptions(), WebSocketRole.Server);
        var protocol = new WebSocketProtocol(WebSocketRole.Server, new DecoderLimits(limit, limit, 4096), session, ReservedBit.Rsv1);
        using var deflater = mode == 1 ? new MessageDeflater(level, windowBits, memoryLevel: 8, contextTakeover) : null;
        using var compressed = new PooledBufferWriter();
        var wire = new ArrayBufferWriter<byte>();
        byte[] output = new byte[outputSize];
        var inflated = new ArrayBufferWriter<byte>();
        try
        {
            int index = -1;
            while (!input.Rest.IsEmpty)
            {
                int length = input.UInt16();
                ReadOnlySpan<byte> rest = input.Rest;
                ReadOnlySpan<byte> message = rest[..Math.Min(length, rest.Length)];
                input = new FuzzInput(rest[message.Length..]);

                ReadOnlySpan<byte> payload;
                compressed.Reset();
                switch (mode)
                {
                    case 1:
                        deflater!.Compress(message, compressed);
                        payload = compressed.WrittenSpan;
                        break;
                    case 2:
                        payload = CompressWithDeflateStream(message, level);
                        break;
                    default:
                        payload = message;
                        break;
                }

                // The client's frame: masked, final, RSV1 (compressed).
                wire.Clear();
                FrameWriter.WriteFrame(wire, WebSocketRole.Client, WebSocketOpcode.Binary, fin: true, ReservedBit.Rsv1, payload);

                inflated.Clear();
                ProtocolViolation violation = ReceiveMessage(protocol, wire.WrittenSpan, output, ref splitter, inflated);
                index++;
                if (mode is 1 or 2)
                {
                    FuzzInvariantException.Check(violation == ProtocolViolation.None, $"message {index} ({message.Length} bytes), compressed by a real DEFLATE encoder to {Convert.ToHexString(payload)}, failed: {violation}");
                    FuzzInvariantException.Check(inflated.WrittenSpan.SequenceEqual(message), $"round trip changed a {message.Length}-byte message into {inflated.WrittenCount} bytes");
                }
                else if (violation != ProtocolViolation.None)
                {
                    // 1007 for corrupt data; 1009 for a message over the cap, decompressed or (FrameTooBig, MessageTooBig
                    // decided from the declared length) already on the wire.
                    FuzzInvariantException.Check(
                        violation is ProtocolViolation.InvalidCompressedData or ProtocolViolation.MessageTooBig or ProtocolViolation.FrameTooBig,
                        $"raw compressed input failed with {violation}");
                    FuzzInvariantException.Check(violation != ProtocolViolation.MessageTooBig || inflated.WrittenCount <= cap, "the cap was passed before the protocol stopped");
                    return; // the connection fails (1007 or 1009) and drops the session
                }
            }
        }
        finally
        {
            protocol.Dispose();
        }
    }

    /// <summary>Delivers one message's frame in pieces and collects the decoded output; returns the violation, if any.</summary>
    private static ProtocolViolation ReceiveMessage(WebSocketProtocol protocol, ReadOnlySpan<byte> frame, byte[] output, ref Splitter splitter, ArrayBufferWriter<byte> inflated)
    {
        byte[] pending = [];
        int offset = 0;
        while (true)
        {
            // A piece of the frame as one TCP read would bring it, after what the last read left unconsumed.
            int piece = splitter.Next(frame.Length - offset);
            pending = [.. pending, .. frame.Slice(offset, piece)];
            offset += piece;
            bool complete = offset == frame.Length;

            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(pending));
            while (true)
            {
                ProtocolEvent received = protocol.Receive(ref reader, output, out int written, out bool endOfMessage);
                FuzzInvariantException.Check(written >= 0 && written <= output.Length, $"decoded {written} bytes into a {output.Length}-byte buffer");
                if (received == ProtocolEvent.Violation)
                {
                    return protocol.Violation;
                }

                if (received == ProtocolEvent.NeedMoreData)
                {
                    break;
                }

                FuzzInvariantException.Check(received == ProtocolEvent.Data, $"a data frame produced {received}");
                FuzzInvariantException.Check(written > 0 || endOfMessage, "Data without bytes or the end of the message");
                inflated.Write(output.AsSpan(0, written));
                if (endOfMessage)
                {
                    FuzzInvariantException.Check(complete && reader.End, "the message ended before its last byte arrived");
                    FuzzInvariantException.Check(!protocol.HasPendingOutput, "the message ended with output still pending");
                    return ProtocolViolation.None;
                }
            }

            FuzzInvariantException.Check(!complete, "the protocol waits for more input after the whole message arrived");
            pending = pending[(int)reader.Consumed..];
        }
    }

    private static byte[] CompressWithDeflateStream(ReadOnlySpan<byte> message, int level)
    {
        var buffer = new MemoryStream();
        CompressionLevel compressionLevel = level switch
        {
            1 => CompressionLevel.Fastest,
            9 => CompressionLevel.SmallestSize,
            _ => CompressionLevel.Optimal,
        };
        using (var deflate = new DeflateStream(buffer, compressionLevel, leaveOpen: true))
        {
            deflate.Write(message);
        }

        // DeflateStream writes nothing at all for an empty input, which is no DEFLATE stream and no permessage-deflate
        // payload (RFC 7692 §7.2.1 always leaves at least one byte); zlib's Z_FINISH gives an empty final block, 03 00.
        return buffer.Length == 0 ? [0x03, 0x00] : buffer.ToArray();
    }
}
