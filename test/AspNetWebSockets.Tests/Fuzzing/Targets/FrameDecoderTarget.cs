using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using AspNetWebSockets.Compression;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets.Fuzzing;

/// <summary>
/// Target "frames": the receive half of the protocol object, <see cref="WebSocketProtocol"/> — frame reader, message
/// decoder and, when permessage-deflate is negotiated, its session — driven the way WebSocketConnection's receive loop
/// drives it, over arbitrary bytes that arrive in arbitrary pieces (as a pipe hands them over: unconsumed bytes stay, new
/// bytes are appended as further segments, so headers straddle segments).
/// </summary>
/// <remarks>
/// Input layout: 6 configuration bytes, then the wire bytes.
/// <list type="number">
/// <item>flags: bit 0 client role (expects unmasked frames), bit 1 deflate negotiated, bit 2 inflater context
/// takeover, bits 4–6 inflate window bits 9–15.</item>
/// <item>MaxMessageSize: (low 5 bits + 1) &lt;&lt; (2 × high 3 bits), 1 B – 512 KiB.</item>
/// <item>MaxFrameSize: 0 = MaxMessageSize, else MaxMessageSize &gt;&gt; (b &amp; 7).</item>
/// <item>MaxFragmentsPerMessage: bit 7 = 4096 (the default), else 1–64.</item>
/// <item>application receive buffer: 1–128 bytes, or 64 × n up to 8 KiB.</item>
/// <item>split seed for the delivery chunks (0 = everything in one read).</item>
/// </list>
/// Invariants: nothing throws; each receive consumes input, produces output, or reports an event, and one that reports
/// "need more data" really does (fewer than 14 bytes left: a full staging buffer would stall the connection); chunks fit
/// their buffers; messages never exceed MaxMessageSize (after decompression); a complete text message is valid UTF-8;
/// control payloads are at most 125 bytes and a close is recorded with a valid code and reason; a violation maps to a
/// close code; the payload reported as buffered (what sizes a receive buffer) never exceeds the bytes that have arrived.
/// </remarks>
internal static class FrameDecoderTarget
{
    public static void Run(ReadOnlySpan<byte> data)
    {
        var input = new FuzzInput(data);
        byte flags = input.Byte();
        byte sizeByte = input.Byte();
        byte frameByte = input.Byte();
        byte fragmentsByte = input.Byte();
        byte bufferByte = input.Byte();
        var splitter = new Splitter(input.Byte());
        ReadOnlySpan<byte> wire = input.TakeRest();

        var role = (flags & 1) != 0 ? WebSocketRole.Client : WebSocketRole.Server;
        bool deflate = (flags & 2) != 0;
        bool contextTakeover = (flags & 4) != 0;
        int windowBits = 9 + ((flags >> 4) & 7) % 7;
        long maxMessage = (long)((sizeByte & 0x1F) + 1) << (2 * (sizeByte >> 5));
        long maxFrame = frameByte == 0 ? maxMessage : Math.Max(1, maxMessage >> (frameByte & 7));
        int maxFragments = (fragmentsByte & 0x80) != 0 ? 4096 : 1 + (fragmentsByte & 0x3F);
        int bufferSize = bufferByte < 0x80 ? 1 + bufferByte : 64 * (bufferByte - 0x7F);

        // The peer's direction is the one received: its window and context rule are what the session inflates with.
        PerMessageDeflateSession? extension = deflate
            ? new PerMessageDeflateSession(
                new PerMessageDeflateParameters(windowBits, !contextTakeover, windowBits, !contextTakeover), new WebSocketCompressionOptions(), role)
            : null;
        var protocol = new WebSocketProtocol(role, new DecoderLimits(maxMessage, maxFrame, maxFragments), extension, ReservedBit.Rsv1);
        try
        {
            new Session(protocol, maxMessage, bufferSize).Receive(wire, ref splitter);
        }
        finally
        {
            protocol.Dispose();
        }
    }

    /// <summary>The receive loop of one connection, minus the I/O.</summary>
    private sealed class Session
    {
        private readonly WebSocketProtocol _protocol;
        private readonly long _maxMessage;
        private readonly byte[] _buffer;

        // What the application has received of the current message (the oracle checks whole messages).
        private readonly ArrayBufferWriter<byte> _message = new();
        private bool _inMessage;
        private WebSocketMessageType _messageType;

        public Session(WebSocketProtocol protocol, long maxMessage, int bufferSize)
        {
            _protocol = protocol;
            _maxMessage = maxMessage;
            _buffer = new byte[bufferSize];
        }

        public void Receive(ReadOnlySpan<byte> wire, ref Splitter splitter)
        {
            var pipe = new SegmentedInput();
            int delivered = 0;
            bool examinedAll = false; // the last receive asked for more: the next read waits for new bytes
            int idleSteps = 0;

            while (true)
            {
                // Loops must make progress (CVE-2021-26423): a step that neither consumes, produces nor delivers new
                // bytes may happen once (e.g. a session that finds its input drained), never repeatedly.
                FuzzInvariantException.Check(++idleSteps <= 3, "receive loop made no progress in three consecutive steps");

                if (pipe.Length == 0 || examinedAll)
                {
                    if (delivered == wire.Length)
                    {
                        return; // end of stream: the connection reports 1006
                    }

                    int size = splitter.Next(wire.Length - delivered);
                    pipe.Append(wire.Slice(delivered, size));
                    delivered += size;
                    examinedAll = false;
                    idleSteps = 0;
                }

                var reader = new SequenceReader<byte>(pipe.Sequence);

                // The receive buffer is sized from this: it must never exceed the bytes that have arrived.
                long buffered = _protocol.BufferedPayload(reader);
                FuzzInvariantException.Check(buffered >= 0 && buffered <= reader.Remaining, $"BufferedPayload {buffered} with {reader.Remaining} bytes in the input");
                try
                {
                    ProtocolEvent received = _protocol.Receive(ref reader, _buffer, out int written, out bool endOfMessage);
                    long consumed = reader.Consumed;
                    pipe.Consume(consumed);
                    if (consumed > 0)
                    {
                        idleSteps = 0;
                    }

                    switch (received)
                    {
                        case ProtocolEvent.Data:
                            FuzzInvariantException.Check(written >= 0 && written <= _buffer.Length, $"Data of {written} bytes into a {_buffer.Length}-byte buffer");
                            FuzzInvariantException.Check(written > 0 || endOfMessage, "Data reported without bytes or the end of a message");
                            Deliver(_buffer.AsSpan(0, written), endOfMessage);
                            idleSteps = 0;
                            break;

                        case ProtocolEvent.NeedMoreData:
                            FuzzInvariantException.Check(
                                reader.Remaining < FrameReader.MaxHeaderSize,
                                $"NeedMoreData with {reader.Remaining} bytes unread and a {_buffer.Length}-byte buffer");
                            examinedAll = true;
                            break;

                        case ProtocolEvent.Ping or ProtocolEvent.Pong:
                            FuzzInvariantException.Check(consumed > 0, $"{received} reported without consuming input");
                            FuzzInvariantException.Check(_protocol.ControlPayload.Length <= 125, $"control payload of {_protocol.ControlPayload.Length} bytes");
                            break;

                        case ProtocolEvent.Close:
                            FuzzInvariantException.Check(consumed > 0, "Close reported without consuming input");
                            WebSocketCloseInfo close = _protocol.PeerClose ?? throw new FuzzInvariantException("Close without the peer's close recorded");
                            FuzzInvariantException.Check(close.Code == WebSocketCloseCode.NoStatusReceived || WebSocketCloseCode.IsValidOnWire(close.Code), $"close code {close.Code}");
                            FuzzInvariantException.Check(Encoding.UTF8.GetByteCount(close.Reason) <= 123, "close reason over 123 bytes");
                            FuzzInvariantException.Check(_protocol.CloseReceived && _protocol.State == WebSocketReadyState.Closing, "a close that left the state open");
                            return; // the close handshake ends reading

                        case ProtocolEvent.Violation:
                            ProtocolViolation violation = _protocol.Violation;
                            FuzzInvariantException.Check(violation != ProtocolViolation.None, "Violation event without a violation");
                            FuzzInvariantException.Check(violation.ToCloseCode() is 1002 or 1007 or 1008 or 1009, $"{violation} maps to {violation.ToCloseCode()}");
                            return;

                        default:
                            throw new FuzzInvariantException($"unknown event {received}");
                    }
                }
                finally
                {
                    pipe.ReleaseConsumed();
                }
            }
        }

        private void Deliver(ReadOnlySpan<byte> chunk, bool endOfMessage)
        {
            if (!_inMessage)
            {
                _inMessage = true;
                _messageType = _protocol.MessageType;
                _message.Clear();
            }

            FuzzInvariantException.Check(_protocol.MessageType == _messageType, "message type changed within a message");
            _message.Write(chunk);
            FuzzInvariantException.Check(_message.WrittenCount <= _maxMessage, $"message of {_message.WrittenCount} bytes over the {_maxMessage}-byte limit");
            if (!endOfMessage)
            {
                return;
            }

            if (_messageType == WebSocketMessageType.Text)
            {
                FuzzInvariantException.Check(System.Text.Unicode.Utf8.IsValid(_message.WrittenSpan), "a text message with invalid UTF-8 was delivered");
            }

            _inMessage = false;
        }
    }

    /// <summary>
    /// The unconsumed bytes of a pipe: each delivery is its own segment (copied, as a socket read would be), and
    /// consumed bytes are dropped from the front, so a header can straddle any number of segments.
    /// </summary>
    private sealed class SegmentedInput
    {
        private readonly List<byte[]> _segments = [];
        private int _offset; // consumed bytes of _segments[0]

        public long Length { get; private set; }

        public ReadOnlySequence<byte> Sequence
        {
            get
            {
                if (_segments.Count == 0)
                {
                    return ReadOnlySequence<byte>.Empty;
                }

                if (_segments.Count == 1)
                {
                    return new ReadOnlySequence<byte>(_segments[0], _offset, _segments[0].Length - _offset);
                }

                var first = new Segment(_segments[0].AsMemory(_offset), 0);
                Segment last = first;
                for (int i = 1; i < _segments.Count; i++)
                {
                    last = last.Append(_segments[i]);
                }

                return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
            }
        }

        public void Append(ReadOnlySpan<byte> bytes)
        {
            _segments.Add(bytes.ToArray());
            Length += bytes.Length;
        }

        public void Consume(long count)
        {
            FuzzInvariantException.Check(count >= 0 && count <= Length, $"consumed {count} of {Length} bytes");
            Length -= count;
            while (count > 0)
            {
                int inFirst = _segments[0].Length - _offset;
                if (count < inFirst)
                {
                    _offset += (int)count;
                    return;
                }

                count -= inFirst;
                _segments.RemoveAt(0);
                _offset = 0;
            }
        }

        public void ReleaseConsumed()
        {
            while (_segments.Count > 0 && _offset == _segments[0].Length)
            {
                _segments.RemoveAt(0);
                _offset = 0;
            }
        }

        private sealed class Segment : ReadOnlySequenceSegment<byte>
        {
            public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
            {
                Memory = memory;
                RunningIndex = runningIndex;
            }

            public Segment Append(ReadOnlyMemory<byte> memory)
            {
                var next = new Segment(memory, RunningIndex + Memory.Length);
                Next = next;
                return next;
            }
        }
    }
}
