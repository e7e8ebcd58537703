using System.Buffers;
using System.Net.WebSockets;
using AspNetWebSockets.Extensions;

namespace AspNetWebSockets.Protocol;

/// <summary>What one <see cref="WebSocketProtocol.Receive"/> call produced.</summary>
internal enum ProtocolEvent : byte
{
    /// <summary>Everything available was consumed; call again with more bytes.</summary>
    NeedMoreData,

    /// <summary>
    /// Message payload was written to the destination (possibly none at the end of a message); see
    /// <see cref="WebSocketProtocol.MessageType"/>. For a transformed message, this is the decoded payload.
    /// </summary>
    Data,

    /// <summary>A ping arrived; its payload is <see cref="WebSocketProtocol.ControlPayload"/> until the next call. Answer with a pong.</summary>
    Ping,

    /// <summary>A pong arrived; its payload is <see cref="WebSocketProtocol.ControlPayload"/> until the next call.</summary>
    Pong,

    /// <summary>The peer's close frame arrived: <see cref="WebSocketProtocol.PeerClose"/>. Echo it (if not yet closing) and end the connection.</summary>
    Close,

    /// <summary>The peer broke the protocol: fail the connection with <see cref="WebSocketProtocol.Violation"/>'s close code.</summary>
    Violation,
}

/// <summary>
/// The protocol object (RFC 6455, RFC 7692 through <see cref="IWebSocketExtensionSession"/>), in the shape of
/// python-websockets' <c>Protocol</c>: bytes in, events out; messages and control frames in, frames out. It owns the
/// close state machine (<see cref="State"/>), the control-frame rules, the size limits applied after an extension has
/// decoded a message, incremental UTF-8 validation of decoded text, and which bytes an idle connection may consume. No
/// I/O, no tasks, no locks, no timers: a driver (<see cref="WebSocketConnection"/>) moves the bytes and decides when.
/// </summary>
/// <remarks>
/// Receiving and sending are independent halves: a driver may receive on one thread while it sends on another, as long
/// as each half is used by one caller at a time. The state word they share changes only by atomic operations.
/// Steady-state receiving and sending allocate nothing; only a close frame's reason becomes a string.
/// </remarks>
internal sealed class WebSocketProtocol
{
    private readonly WebSocketRole _role;
    private readonly MessageDecoder _decoder;
    private readonly IWebSocketExtensionSession? _extension;
    private readonly byte _extensionBits;

    private int _state = (int)WebSocketReadyState.Open;
    private int _closeSent;
    private volatile bool _closeReceived;
    private WebSocketCloseInfo? _peerClose;
    private ProtocolViolation _violation;

    // The message an extension is decoding: its decoded length (the limit applies to it) and the UTF-8 state of its text.
    private long _decodedLength;
    private Utf8Validator _decodedUtf8;

    /// <param name="role">Which side we are: servers expect masked frames and send unmasked ones, clients the reverse.</param>
    /// <param name="limits">Message, frame and fragment limits; the message limit applies to decoded (decompressed) bytes.</param>
    /// <param name="extension">The negotiated extension's session, owned from here on; null for none.</param>
    /// <param name="extensionBits">The RSV bits the extension's messages carry.</param>
    public WebSocketProtocol(WebSocketRole role, DecoderLimits limits, IWebSocketExtensionSession? extension = null, byte extensionBits = 0)
    {
        if (extension is not null && (extensionBits == 0 || (extensionBits & ~ReservedBit.All) != 0))
        {
            throw new ArgumentOutOfRangeException(nameof(extensionBits), extensionBits, "An extension claims one or more of RSV1-3 (0x40, 0x20, 0x10).");
        }

        _role = role;
        _decoder = new MessageDecoder(role, limits) { AllowedReservedBits = extension is null ? (byte)0 : extensionBits };
        _extension = extension;
        _extensionBits = extension is null ? (byte)0 : extensionBits;
    }

    public WebSocketRole Role => _role;

    /// <summary>The limits in force; a driver may set them per endpoint before the first receive.</summary>
    public DecoderLimits Limits
    {
        get => _decoder.Limits;
        set => _decoder.Limits = value;
    }

    /// <summary>The negotiated extension's session, or null.</summary>
    public IWebSocketExtensionSession? Extension => _extension;

    /// <summary>The close state machine: Open, Closing once a close frame was sent or received, Closed at the end.</summary>
    public WebSocketReadyState State => (WebSocketReadyState)Volatile.Read(ref _state);

    /// <summary>Whether the peer's close frame has arrived: nothing after it is read.</summary>
    public bool CloseReceived => _closeReceived;

    /// <summary>Whether our close frame was claimed (<see cref="TryBeginClose"/>, <see cref="TryBeginCloseEcho"/>, <see cref="TryBeginFail"/>): no data frame may follow it.</summary>
    public bool CloseSent => Volatile.Read(ref _closeSent) != 0;

    /// <summary>The peer's close code and reason, once <see cref="ProtocolEvent.Close"/> was reported.</summary>
    public WebSocketCloseInfo? PeerClose => _peerClose;

    /// <summary>The rule the peer broke, after <see cref="ProtocolEvent.Violation"/>.</summary>
    public ProtocolViolation Violation => _violation;

    /// <summary>The payload of the ping or pong last reported; valid until the next receive call.</summary>
    public ReadOnlySpan<byte> ControlPayload => _decoder.ControlPayload;

    /// <summary>
    /// The payload of the pong that answers the ping last reported (RFC 6455 §5.5.3: the ping's own payload). It lives in
    /// the decoder's buffer, valid until the next receive call: a driver that sends it before decoding on need not copy it.
    /// </summary>
    public ReadOnlyMemory<byte> PongPayload => _decoder.ControlPayloadMemory;

    /// <summary>The type of the message the last <see cref="ProtocolEvent.Data"/> belongs to.</summary>
    public WebSocketMessageType MessageType => _decoder.MessageType;

    /// <summary>
    /// Whether payload can be decoded straight into the caller's buffer (no extension stages it): then a driver may decode
    /// a whole buffered message in one synchronous pass.
    /// </summary>
    public bool DecodesInPlace => _extension is null;

    /// <summary>Whether received bytes are mid-way: inside a frame, or an extension still holds decoded output to deliver.</summary>
    public bool MidFrame => _decoder.InFrame || _extension is { IsDecoding: true };

    /// <summary>Whether the extension holds decoded output of input already consumed: receive again before reading more.</summary>
    public bool HasPendingOutput => _extension is { IsDecoding: true };

    /// <summary>How many payload bytes of the next data frame are already in <paramref name="input"/> (see <see cref="MessageDecoder.BufferedPayload"/>).</summary>
    public long BufferedPayload(SequenceReader<byte> input) => _decoder.BufferedPayload(input);

    // ---- Close state ------------------------------------------------------------------------------------------------

    /// <summary>Open → Closing, unless already further along.</summary>
    public void EnterClosing() => Interlocked.CompareExchange(ref _state, (int)WebSocketReadyState.Closing, (int)WebSocketReadyState.Open);

    /// <summary>Moves to Closed; true for the one call that did it (the driver then ends the connection exactly once).</summary>
    public bool TryEnterClosed() => Interlocked.Exchange(ref _state, (int)WebSocketReadyState.Closed) != (int)WebSocketReadyState.Closed;

    /// <summary>
    /// Our close frame as the application asks for it (RFC 6455 §7.1.2): validates <paramref name="code"/> (valid on the
    /// wire) and <paramref name="reason"/> (at most 123 bytes of UTF-8) first — invalid input is the caller's bug and throws
    /// even when a close was already sent — then claims the close frame (§5.5.1: at most one) and moves to Closing.
    /// </summary>
    /// <param name="code">The close code.</param>
    /// <param name="reason">The reason, or null.</param>
    /// <param name="payload">The close frame's payload to send, when claimed.</param>
    /// <returns>False when our close frame was already claimed: the caller sends nothing.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The code may not be sent.</exception>
    /// <exception cref="ArgumentException">The reason is over 123 bytes of UTF-8 or not well-formed.</exception>
    public bool TryBeginClose(int code, string? reason, out ReadOnlyMemory<byte> payload)
    {
        byte[] buffer = new byte[CloseFrame.MaxReasonBytes + 2];
        int length = CloseFrame.Write(buffer, code, reason);
        return TryClaimClose(buffer.AsMemory(0, length), out payload);
    }

    /// <summary>
    /// The close frame that answers the peer's (RFC 6455 §5.5.1): its code and reason echoed — browsers, <c>ws</c> and
    /// <c>websockets</c> then show the reason in the peer's close event — or an empty payload for 1005.
    /// </summary>
    /// <param name="payload">The echo's payload to send, when claimed.</param>
    /// <returns>False when our close frame was already claimed (we started the handshake): nothing more is sent.</returns>
    public bool TryBeginCloseEcho(out ReadOnlyMemory<byte> payload)
    {
        WebSocketCloseInfo peer = _peerClose ?? throw new InvalidOperationException("No close frame was received.");
        return peer.Code == WebSocketCloseCode.NoStatusReceived
            ? TryClaimClose(ReadOnlyMemory<byte>.Empty, out payload)
            : TryBeginClose(peer.Code, peer.Reason, out payload);
    }

    /// <summary>
    /// Failing the connection (RFC 6455 §7.1.7) for <paramref name="violation"/>: a close frame with the code it calls for
    /// and no reason on the wire, and how the connection ended — that code, the violation described, not clean.
    /// </summary>
    /// <param name="violation">The rule the peer broke.</param>
    /// <param name="payload">The close frame's payload to send, when claimed.</param>
    /// <param name="outcome">How the connection ended, for the application and the log.</param>
    /// <returns>False when our close frame was already claimed: nothing more is sent.</returns>
    public bool TryBeginFail(ProtocolViolation violation, out ReadOnlyMemory<byte> payload, out WebSocketCloseInfo outcome)
    {
        int code = violation.ToCloseCode();
        outcome = new WebSocketCloseInfo(code, violation.Describe(), WasClean: false);
        return TryBeginClose(code, null, out payload);
    }

    /// <summary>Claims the sending of our close frame (RFC 6455 §5.5.1: at most one) and moves to Closing; false when already claimed.</summary>
    private bool TryClaimClose(ReadOnlyMemory<byte> frame, out ReadOnlyMemory<byte> payload)
    {
        payload = frame;
        if (Interlocked.Exchange(ref _closeSent, 1) != 0)
        {
            payload = default;
            return false;
        }

        EnterClosing();
        return true;
    }

    // ---- Receiving --------------------------------------------------------------------------------------------------

    /// <summary>
    /// Decodes from <paramref name="input"/> until there is something to report: payload written to
    /// <paramref name="destination"/> (<paramref name="written"/> bytes, <paramref name="endOfMessage"/> at a message's
    /// end), a control frame, a violation, or the end of the input. Every call consumes input or reports; it cannot spin.
    /// </summary>
    public ProtocolEvent Receive(ref SequenceReader<byte> input, Span<byte> destination, out int written, out bool endOfMessage)
    {
        written = 0;
        endOfMessage = false;
        while (true)
        {
            if (_extension is { IsDecoding: true })
            {
                ProtocolEvent decoded = DecodeTransformed(destination, out written, out endOfMessage);
                if (decoded != ProtocolEvent.NeedMoreData)
                {
                    return decoded;
                }

                // Everything staged is decoded and the message needs more input: read on.
            }

            // With an extension negotiated, payload lands in its staging buffer first: whether a message is transformed is
            // only known once its first header has been read. A message that is not is then copied on.
            Span<byte> target = _extension is null ? destination : LimitTo(_extension.GetDecodeInputSpan(), destination.Length);
            DecodeStatus status = _decoder.Decode(ref input, target, out int count, out bool last, out ProtocolViolation violation);
            switch (status)
            {
                case DecodeStatus.Data:
                    if (_extension is not null)
                    {
                        if (_decoder.MessageCompressed)
                        {
                            if (!_extension.IsDecoding)
                            {
                                _decodedLength = 0;
                                _decodedUtf8.Reset();
                            }

                            _extension.CommitDecodeInput(count, last);
                            continue;
                        }

                        target[..count].CopyTo(destination);
                    }

                    written = count;
                    endOfMessage = last;
                    return ProtocolEvent.Data;

                case DecodeStatus.NeedMoreData:
                    return ProtocolEvent.NeedMoreData;

                case DecodeStatus.Control:
                    return OnControlFrame();

                default:
                    _violation = violation;
                    return ProtocolEvent.Violation;
            }
        }
    }

    /// <summary>
    /// The idle read: while nobody receives messages, consumes the control frame at the head of <paramref name="input"/> if
    /// there is a whole, valid one and no frame or decoded message is in progress, and reports it as
    /// <see cref="Receive"/> would. Anything else — a data frame above all, which waits for the application (that is
    /// backpressure), or an invalid frame, left for <see cref="Receive"/> to report — is not consumed, and nothing is
    /// returned (<see cref="ProtocolEvent.NeedMoreData"/>).
    /// </summary>
    public ProtocolEvent ReceiveControlFrame(ref SequenceReader<byte> input)
    {
        if (_closeReceived || MidFrame)
        {
            return ProtocolEvent.NeedMoreData;
        }

        // The header is read with the one frame-header parser; a control frame's header is read afresh by the decoder,
        // which keeps no state for it, so an attempt that is not taken leaves both untouched.
        SequenceReader<byte> peek = input;
        if (!FrameReader.TryReadHeader(ref peek, _role, out FrameHeader header, out _) || !header.IsControl
            || header.ReservedBits != 0 || peek.Remaining < header.PayloadLength)
        {
            return ProtocolEvent.NeedMoreData;
        }

        SequenceReader<byte> attempt = input;
        if (_decoder.Decode(ref attempt, Span<byte>.Empty, out _, out _, out _) != DecodeStatus.Control)
        {
            return ProtocolEvent.NeedMoreData; // a close frame with a bad code or reason: Receive meets it again and fails it
        }

        input = attempt;
        return OnControlFrame();
    }

    private ProtocolEvent OnControlFrame()
    {
        switch (_decoder.ControlOpcode)
        {
            case WebSocketOpcode.Ping:
                return ProtocolEvent.Ping;
            case WebSocketOpcode.Pong:
                return ProtocolEvent.Pong;
            default:
                // The decoder validated the payload; the reason is decoded only now, once per connection.
                CloseFrame.TryParse(_decoder.ControlPayload, out int code, out string reason);
                _peerClose = new WebSocketCloseInfo(code, reason, WasClean: true);
                _closeReceived = true;
                EnterClosing();
                return ProtocolEvent.Close;
        }
    }

    /// <summary>
    /// Takes decoded bytes from the extension, enforcing the message-size limit on decoded bytes as they appear (a
    /// decompression bomb stops at the limit with 1009) and validating the UTF-8 of text as it is produced.
    /// </summary>
    private ProtocolEvent DecodeTransformed(Span<byte> destination, out int written, out bool endOfMessage)
    {
        OperationStatus status = _extension!.Decode(destination, out written);
        endOfMessage = status == OperationStatus.Done;
        if (status == OperationStatus.InvalidData)
        {
            _violation = ProtocolViolation.InvalidCompressedData;
            return ProtocolEvent.Violation;
        }

        if (written == 0 && !endOfMessage)
        {
            return ProtocolEvent.NeedMoreData;
        }

        _decodedLength += written;
        if (_decodedLength > _decoder.Limits.MaxMessageSize)
        {
            _violation = ProtocolViolation.MessageTooBig;
            return ProtocolEvent.Violation;
        }

        if (_decoder.MessageType == WebSocketMessageType.Text && !_decodedUtf8.TryValidate(destination[..written], endOfMessage))
        {
            _violation = ProtocolViolation.InvalidUtf8;
            return ProtocolEvent.Violation;
        }

        return ProtocolEvent.Data;
    }

    private static Span<byte> LimitTo(Span<byte> span, int length) => span.Length > length ? span[..length] : span;

    // ---- Sending ----------------------------------------------------------------------------------------------------

    /// <summary>Frames one frame of <paramref name="payload"/> into <paramref name="output"/> (masked in the client role).</summary>
    public void WriteFrame(IBufferWriter<byte> output, WebSocketOpcode opcode, bool fin, byte reservedBits, ReadOnlySpan<byte> payload) =>
        FrameWriter.WriteFrame(output, _role, opcode, fin, reservedBits, payload);

    /// <summary>Frames a whole message whose payload is a (possibly multi-segment) sequence, untransformed.</summary>
    public void WriteFrame(IBufferWriter<byte> output, WebSocketOpcode opcode, in ReadOnlySequence<byte> payload) =>
        FrameWriter.WriteFrame(output, _role, opcode, fin: true, 0, payload);

    /// <summary>
    /// Lets the extension encode a whole message (e.g. compress it); the caller frames <paramref name="encoded"/> with
    /// <see cref="ExtensionBits"/> set and then calls <see cref="ReleaseEncoded"/>. False sends the message as it is.
    /// </summary>
    public bool TryEncode(ReadOnlySpan<byte> payload, out ReadOnlyMemory<byte> encoded)
    {
        if (_extension is null)
        {
            encoded = default;
            return false;
        }

        return _extension.TryEncode(payload, out encoded);
    }

    /// <summary>The RSV bits of an encoded message's first frame.</summary>
    public byte ExtensionBits => _extensionBits;

    /// <summary>Releases what the extension held for the last encoded message.</summary>
    public void ReleaseEncoded() => _extension?.ReleaseEncoded();

    /// <summary>
    /// The bytes of a message framed once for many connections that this connection sends: the shared encoded frame when
    /// its extension encodes per message alike for every session with the same key, otherwise the plain frame (always
    /// legal: extensions transform per message). A client must mask, so it frames the payload itself instead.
    /// </summary>
    public ReadOnlyMemory<byte> PreparedFrameFor(PreparedMessage message) =>
        _extension?.SharedEncodingKey is { } key ? message.GetEncodedFrame(key, _extension, _extensionBits) : message.Frame;

    /// <summary>Releases the extension's resources (native zlib state); safe while the other half is mid-call on another thread.</summary>
    public void Dispose() => _extension?.Dispose();
}
