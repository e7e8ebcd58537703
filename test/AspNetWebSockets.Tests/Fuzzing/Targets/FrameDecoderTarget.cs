using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using AspNetWebSockets.Compression;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets.Fuzzing;

/// <summary>
/// Target "frames": the receive path — <see cref="FrameReader"/>, <see cref="MessageDecoder"/> and, when
/// permessage-deflate is negotiated, <see cref="MessageInflater"/> — driven the way WebSocketConnection's receive loop
/// drives them, over arbitrary bytes that arrive in arbitrary pieces (as a pipe hands them over: unconsumed bytes stay,
/// new bytes are appended as further segments, so headers straddle segments).
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
/// Invariants: nothing throws; each decode or inflate step consumes input, produces output, or reports an outcome,
/// and a step that reports "need more data" really does (fewer than 14 bytes left, or an inflater that is waiting for
/// input); chunks fit their buffers; messages never exceed MaxMessageSize (after decompression); a complete text
/// message is valid UTF-8; control payloads are at most 125 bytes and a close payload the decoder accepts parses; the
/// payload the decoder reports as buffered (what sizes a receive buffer) never exceeds the bytes that have arrived.
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

        var decoder = new MessageDecoder(role, new DecoderLimits(maxMessage, maxFrame, maxFragments))
        {
            AllowedReservedBits = deflate ? ReservedBit.Rsv1 : (byte)0,
        };
        using MessageInflater? inflater = deflate ? new MessageInflater(windowBits, contextTakeover) : null;
        var session = new Session(decoder, inflater, maxMessage, bufferSize);
        session.Receive(wire, ref splitter);
    }

    /// <summary>The receive loop of one connection, minus the I/O.</summary>
    private sealed class Session
    {
        private readonly MessageDecoder _decoder;
        private readonly MessageInflater? _inflater;
        private readonly long _maxMessage;
        private readonly byte[] _buffer;

        // What the application has received of the current message (the oracle checks whole messages).
        private readonly ArrayBufferWriter<byte> _message = new();
        private WebSocketMessageType _messageType;
        private long _inflatedLength;
        private Utf8Validator _inflatedUtf8;
        private bool _compressedInputComplete; // the inflater has the whole compressed message

        public Session(MessageDecoder decoder, MessageInflater? inflater, long maxMessage, int bufferSize)
        {
            _decoder = decoder;
            _inflater = inflater;
            _maxMessage = maxMessage;
            _buffer = new byte[bufferSize];
        }

        public void Receive(ReadOnlySpan<byte> wire, ref Splitter splitter)
        {
            var pipe = new SegmentedInput();
            int delivered = 0;
            bool examinedAll = false; // the last decode asked for more: the next read waits for new bytes
            int idleSteps = 0;

            while (true)
            {
                // Loops must make progress (CVE-2021-26423): a step that neither consumes, produces nor delivers new
                // bytes may happen once (e.g. an inflate that finds its input drained), never repeatedly.
                FuzzInvariantException.Check(++idleSteps <= 3, "receive loop made no progress in three consecutive steps");

                if (_inflater is { InMessage: true })
                {
                    InflateOutcome outcome = Inflate();
                    if (outcome == InflateOutcome.Failed)
                    {
                        return; // the connection fails with a close code; nothing further is read
                    }

                    if (outcome == InflateOutcome.Delivered)
                    {
                        idleSteps = 0;
                        continue;
                    }
                }

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

                Span<byte> destination = _inflater is null ? _buffer : LimitTo(_inflater.GetInputSpan(), _buffer.Length);
                FuzzInvariantException.Check(!destination.IsEmpty, "empty decode destination (the inflater's staging buffer is full): the receive loop would stall");
                var reader = new SequenceReader<byte>(pipe.Sequence);

                // The receive buffer is sized from this: it must never exceed the bytes that have arrived.
                long buffered = _decoder.BufferedPayload(reader);
                FuzzInvariantException.Check(buffered >= 0 && buffered <= reader.Remaining, $"BufferedPayload {buffered} with {reader.Remaining} bytes in the input");
                DecodeStatus status;
                try
                {
                    status = _decoder.Decode(ref reader, destination, out int written, out bool endOfMessage, out ProtocolViolation violation);
                    long consumed = reader.Consumed;
                    pipe.Consume(consumed);
                    if (consumed > 0)
                    {
                        idleSteps = 0;
                    }

                    switch (status)
                    {
                        case DecodeStatus.Data:
                            FuzzInvariantException.Check(consumed > 0, "Data reported without consuming input");
                            FuzzInvariantException.Check(written >= 0 && written <= destination.Length, $"Data of {written} bytes into a {destination.Length}-byte buffer");
                            if (_inflater is not null && _decoder.MessageCompressed)
                            {
                                if (!_inflater.InMessage)
                                {
                                    StartMessage();
                                }

                                _inflater.CommitInput(written, endOfMessage);
                                _compressedInputComplete = endOfMessage;
                                continue;
                            }

                            if (_message.WrittenCount == 0)
                            {
                                StartMessage();
                            }

                            Deliver(destination[..written], endOfMessage);
                            break;

                        case DecodeStatus.NeedMoreData:
                            FuzzInvariantException.Check(
                                reader.Remaining < FrameReader.MaxHeaderSize,
                                $"NeedMoreData with {reader.Remaining} bytes unread and a {destination.Length}-byte destination");
                            examinedAll = true;
                            break;

                        case DecodeStatus.Control:
                            FuzzInvariantException.Check(consumed > 0, "Control reported without consuming input");
                            ReadOnlySpan<byte> payload = _decoder.ControlPayload;
                            FuzzInvariantException.Check(payload.Length <= 125, $"control payload of {payload.Length} bytes");
                            if (_decoder.ControlOpcode == WebSocketOpcode.Close)
                            {
                                ProtocolViolation close = CloseFrame.TryParse(payload, out int code, out string reason);
                                FuzzInvariantException.Check(close == ProtocolViolation.None, $"decoder accepted a close payload that TryParse rejects ({close})");
                                FuzzInvariantException.Check(code == WebSocketCloseCode.NoStatusReceived || WebSocketCloseCode.IsValidOnWire(code), $"close code {code}");
                                FuzzInvariantException.Check(Encoding.UTF8.GetByteCount(reason) <= 123, "close reason over 123 bytes");
                                return; // the close handshake ends reading
                            }

                            FuzzInvariantException.Check(
                                _decoder.ControlOpcode is WebSocketOpcode.Ping or WebSocketOpcode.Pong,
                                $"control opcode {_decoder.ControlOpcode}");
                            break;

                        case DecodeStatus.Violation:
                            FuzzInvariantException.Check(violation != ProtocolViolation.None, "Violation status without a violation");
                            FuzzInvariantException.Check(violation.ToCloseCode() is 1002 or 1007 or 1008 or 1009, $"{violation} maps to {violation.ToCloseCode()}");
                            return;

                        default:
                            throw new FuzzInvariantException($"unknown status {status}");
                    }
                }
                finally
                {
                    pipe.ReleaseConsumed();
                }
            }
        }

        private enum InflateOutcome
        {
            NeedsInput,
            Delivered,
            Failed,
        }

        private InflateOutcome Inflate()
        {
            InflateStatus status = _inflater!.Inflate(_buffer, out int written);
            FuzzInvariantException.Check(written >= 0 && written <= _buffer.Length, $"inflated {written} bytes into a {_buffer.Length}-byte buffer");
            if (status == InflateStatus.InvalidData)
            {
                return InflateOutcome.Failed; // 1007
            }

            bool endOfMessage = status == InflateStatus.MessageComplete;
            if (written == 0 && !endOfMessage)
            {
                // The connection would now read more frames and append them to this message: once the inflater has
                // the whole message, every call must produce bytes or finish it.
                FuzzInvariantException.Check(!_compressedInputComplete, "inflater produced nothing and did not finish a message whose input is complete");
                return InflateOutcome.NeedsInput;
            }

            // The cap is enforced on decompressed bytes as they appear, exactly as the connection does (1009).
            _inflatedLength += written;
            if (_inflatedLength > _maxMessage)
            {
                return InflateOutcome.Failed;
            }

            if (_decoder.MessageType == WebSocketMessageType.Text && !_inflatedUtf8.TryValidate(_buffer.AsSpan(0, written), endOfMessage))
            {
                return InflateOutcome.Failed; // 1007
            }

            Deliver(_buffer.AsSpan(0, written), endOfMessage);
            return InflateOutcome.Delivered;
        }

        private void StartMessage()
        {
            _message.Clear();
            _messageType = _decoder.MessageType;
            _inflatedLength = 0;
            _inflatedUtf8.Reset();
            _compressedInputComplete = false;
        }

        private void Deliver(ReadOnlySpan<byte> chunk, bool endOfMessage)
        {
            FuzzInvariantException.Check(_decoder.MessageType == _messageType, "message type changed within a message");
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

            _message.Clear();
        }

        private static Span<byte> LimitTo(Span<byte> span, int length) => span.Length > length ? span[..length] : span;
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
