using System.Buffers;
using System.Net.WebSockets;
using System.Runtime.InteropServices;

namespace AspNetWebSockets.Protocol;

/// <summary>What one <see cref="MessageDecoder.Decode"/> call produced.</summary>
internal enum DecodeStatus : byte
{
    /// <summary>Everything available was consumed; read more bytes and call again.</summary>
    NeedMoreData,

    /// <summary>Payload bytes of a data message were written to the destination (possibly zero at the end of a message).</summary>
    Data,

    /// <summary>A complete control frame arrived; its payload is in <see cref="MessageDecoder.ControlPayload"/>.</summary>
    Control,

    /// <summary>The peer broke the protocol; fail the connection with the violation's close code.</summary>
    Violation,
}

/// <summary>Limits the decoder enforces while reading.</summary>
internal readonly record struct DecoderLimits(long MaxMessageSize, long MaxFrameSize, int MaxFragmentsPerMessage);

/// <summary>
/// The sans-I/O receive state machine (RFC 6455 §5): it turns bytes from the wire into message payload and
/// control frames, enforcing the frame-sequence rules (continuations, control frames between fragments),
/// reserved bits against negotiated extensions, size and fragment limits, and fail-fast UTF-8 validation of
/// text. It unmasks while copying straight into the caller's buffer, so payload is copied exactly once.
/// Every call consumes bytes, or returns <see cref="DecodeStatus.NeedMoreData"/> having consumed all input,
/// or fails: it cannot spin.
/// </summary>
internal sealed class MessageDecoder
{
    private readonly WebSocketRole _role;
    private DecoderLimits _limits;
    private byte _allowedReservedBits;

    // Current frame.
    private bool _inFrame;
    private FrameHeader _frame;
    private long _frameRemaining;
    private int _maskOffset;

    // Current data message.
    private bool _inMessage;
    private WebSocketMessageType _messageType;
    private bool _messageCompressed;
    private long _messageLength;
    private int _fragments;
    private Utf8Validator _utf8;

    // Control frame being assembled (≤ 125 bytes, may arrive split).
    // A control frame's payload: up to 8 bytes (the pongs that answer keep-alive pings, whose payload is our 8-byte stamp)
    // inline, longer ones (a close reason, a peer's own pings) in an array made on first use, so a connection that never
    // receives a long control frame holds no 152-byte buffer for one.
    private ulong _controlInline;
    private byte[]? _controlArray;
    private bool _controlInArray;
    private int _controlLength;

    public MessageDecoder(WebSocketRole role, DecoderLimits limits)
    {
        _role = role;
        _limits = limits;
    }

    /// <summary>The limits in force; the connection may tighten or relax them per endpoint before reading.</summary>
    public DecoderLimits Limits
    {
        get => _limits;
        set => _limits = value;
    }

    /// <summary>Reserved bits that negotiated extensions may set on the first frame of a data message (RSV1 for permessage-deflate).</summary>
    public byte AllowedReservedBits
    {
        get => _allowedReservedBits;
        set => _allowedReservedBits = (byte)(value & ReservedBit.All);
    }

    /// <summary>Whether a data message has started and not yet ended.</summary>
    public bool InMessage => _inMessage;

    /// <summary>Whether a frame's header has been read but not all of its payload (the next input byte is not a header).</summary>
    public bool InFrame => _inFrame;

    /// <summary>
    /// How many payload bytes of the data frame being decoded, or else of the data frame whose header starts
    /// <paramref name="input"/>, are already in <paramref name="input"/>: what a receive buffer must hold to take them in
    /// one step. Only bytes that have arrived count, so a declared length alone makes nobody reserve memory. 0 for a
    /// control frame, an incomplete header, or a header the decoder will refuse.
    /// </summary>
    public long BufferedPayload(SequenceReader<byte> input)
    {
        long declared = _frameRemaining;
        if (!_inFrame)
        {
            if (!FrameReader.TryReadHeader(ref input, _role, out FrameHeader header, out _) || header.IsControl)
            {
                return 0;
            }

            declared = header.PayloadLength;
        }

        return Math.Min(declared, input.Remaining);
    }

    /// <summary>The opcode of the control frame last returned with <see cref="DecodeStatus.Control"/>.</summary>
    public WebSocketOpcode ControlOpcode { get; private set; }

    /// <summary>The unmasked payload of the control frame last returned; valid until the next call.</summary>
    public ReadOnlySpan<byte> ControlPayload => ControlBuffer.Slice(0, _controlLength);

    /// <summary><see cref="ControlPayload"/> as memory, for a caller that sends it before decoding on (moved to the array if it was inline).</summary>
    public ReadOnlyMemory<byte> ControlPayloadMemory
    {
        get
        {
            if (!_controlInArray)
            {
                ControlPayload.CopyTo(_controlArray ??= new byte[FrameReader.MaxControlPayload]);
                _controlInArray = true;
            }

            return _controlArray.AsMemory(0, _controlLength);
        }
    }

    private Span<byte> ControlBuffer => _controlInArray
        ? _controlArray
        : MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref _controlInline, 1));

    /// <summary>The type of the message the last <see cref="DecodeStatus.Data"/> belongs to.</summary>
    public WebSocketMessageType MessageType => _messageType;

    /// <summary>Whether the current message had RSV1 set on its first frame (compressed by permessage-deflate).</summary>
    public bool MessageCompressed => _messageCompressed;

    /// <summary>
    /// Decodes from <paramref name="input"/>, writing data payload into <paramref name="destination"/>.
    /// For <see cref="DecodeStatus.Data"/>, <paramref name="bytesWritten"/> and <paramref name="endOfMessage"/>
    /// describe the chunk. For <see cref="DecodeStatus.Violation"/>, <paramref name="violation"/> says which rule broke.
    /// </summary>
    public DecodeStatus Decode(ref SequenceReader<byte> input, Span<byte> destination, out int bytesWritten, out bool endOfMessage, out ProtocolViolation violation)
    {
        bytesWritten = 0;
        endOfMessage = false;
        violation = ProtocolViolation.None;

        while (true)
        {
            if (!_inFrame)
            {
                if (!FrameReader.TryReadHeader(ref input, _role, out FrameHeader header, out violation))
                {
                    return violation == ProtocolViolation.None ? DecodeStatus.NeedMoreData : DecodeStatus.Violation;
                }

                violation = BeginFrame(header);
                if (violation != ProtocolViolation.None)
                {
                    return DecodeStatus.Violation;
                }
            }

            if (_frame.IsControl)
            {
                int count = (int)Math.Min(_frameRemaining, input.Remaining);
                input.TryCopyTo(ControlBuffer.Slice(_controlLength, count));
                input.Advance(count);
                _controlLength += count;
                _frameRemaining -= count;
                if (_frameRemaining > 0)
                {
                    return DecodeStatus.NeedMoreData;
                }

                if (_frame.Masked)
                {
                    Masking.Apply(ControlBuffer.Slice(0, _controlLength), _frame.MaskKey, 0);
                }

                _inFrame = false;
                ControlOpcode = _frame.Opcode;
                if (ControlOpcode == WebSocketOpcode.Close)
                {
                    violation = CloseFrame.Validate(ControlPayload, out _); // no reason string: the caller parses what it keeps
                    if (violation != ProtocolViolation.None)
                    {
                        return DecodeStatus.Violation;
                    }
                }

                return DecodeStatus.Control;
            }

            int chunk = (int)Math.Min(Math.Min(_frameRemaining, input.Remaining), destination.Length);
            if (chunk == 0 && _frameRemaining > 0)
            {
                // Out of input (or the caller passed an empty buffer): nothing more to do in this call.
                return DecodeStatus.NeedMoreData;
            }

            Span<byte> target = destination[..chunk];
            CopyPayload(ref input, target);
            _frameRemaining -= chunk;
            _messageLength += chunk;

            bool frameDone = _frameRemaining == 0;
            endOfMessage = frameDone && _frame.Fin;
            if (frameDone)
            {
                _inFrame = false;
            }

            if (_messageType == WebSocketMessageType.Text && !_messageCompressed && !_utf8.TryValidate(target, endOfMessage))
            {
                violation = ProtocolViolation.InvalidUtf8;
                return DecodeStatus.Violation;
            }

            if (endOfMessage)
            {
                _inMessage = false;
            }
            else if (chunk == 0)
            {
                continue; // an empty non-final fragment carries nothing to report
            }

            bytesWritten = chunk;
            return DecodeStatus.Data;
        }
    }

    private ProtocolViolation BeginFrame(in FrameHeader header)
    {
        byte reserved = header.ReservedBits;
        if (header.IsControl)
        {
            if (reserved != 0)
            {
                return ProtocolViolation.ReservedBitsSet;
            }

            _controlLength = 0;
            _controlInArray = header.PayloadLength > sizeof(ulong);
            if (_controlInArray)
            {
                _controlArray ??= new byte[FrameReader.MaxControlPayload];
            }
        }
        else
        {
            if ((reserved & ~_allowedReservedBits) != 0)
            {
                return ProtocolViolation.ReservedBitsSet;
            }

            if (header.Opcode == WebSocketOpcode.Continuation)
            {
                if (!_inMessage)
                {
                    return ProtocolViolation.UnexpectedContinuation;
                }

                // RSV1 (compression) marks only the first frame of a message (RFC 7692 §6.1).
                if (reserved != 0)
                {
                    return ProtocolViolation.ReservedBitsSet;
                }

                if (++_fragments > _limits.MaxFragmentsPerMessage)
                {
                    return ProtocolViolation.TooManyFragments;
                }
            }
            else
            {
                if (_inMessage)
                {
                    return ProtocolViolation.ExpectedContinuation;
                }

                _inMessage = true;
                _messageType = header.Opcode == WebSocketOpcode.Text ? WebSocketMessageType.Text : WebSocketMessageType.Binary;
                _messageCompressed = header.Rsv1;
                _messageLength = 0;
                _fragments = 1;
                _utf8.Reset();
            }

            // Checked before a byte of payload is read: the declared length alone decides (ADVISORIES #5, #10).
            if (header.PayloadLength > _limits.MaxFrameSize)
            {
                return ProtocolViolation.FrameTooBig;
            }

            if (header.PayloadLength > _limits.MaxMessageSize - _messageLength)
            {
                return ProtocolViolation.MessageTooBig;
            }
        }

        _inFrame = true;
        _frame = header;
        _frameRemaining = header.PayloadLength;
        _maskOffset = 0;
        return ProtocolViolation.None;
    }

    private void CopyPayload(ref SequenceReader<byte> input, Span<byte> target)
    {
        while (!target.IsEmpty)
        {
            ReadOnlySpan<byte> source = input.UnreadSpan;
            int count = Math.Min(source.Length, target.Length);
            if (_frame.Masked)
            {
                _maskOffset = Masking.Copy(source[..count], target, _frame.MaskKey, _maskOffset);
            }
            else
            {
                source[..count].CopyTo(target);
            }

            input.Advance(count);
            target = target[count..];
        }
    }
}
