namespace AspNetWebSockets.Protocol;

/// <summary>
/// Every way a peer can break RFC 6455. The receive path reports one of these as a value rather than
/// throwing, and <see cref="ProtocolViolations.ToCloseCode"/> is the single place that maps them to close codes.
/// </summary>
internal enum ProtocolViolation : byte
{
    None = 0,

    // 1002 protocol error
    UnmaskedFrame,
    MaskedFrame,
    ReservedBitsSet,
    ReservedOpcode,
    ControlFrameTooLong,
    FragmentedControlFrame,
    NonMinimalLength,
    LengthTooLarge,
    UnexpectedContinuation,
    ExpectedContinuation,
    InvalidClosePayload,
    InvalidCloseCode,

    // 1007 invalid payload data
    InvalidUtf8,
    InvalidCloseReason,
    InvalidCompressedData,

    // 1009 message too big
    MessageTooBig,
    FrameTooBig,

    // 1008 policy violation
    TooManyFragments,
}

/// <summary>Maps violations to close codes and log text.</summary>
internal static class ProtocolViolations
{
    public static int ToCloseCode(this ProtocolViolation violation) => violation switch
    {
        ProtocolViolation.None => WebSocketCloseCode.NormalClosure,
        ProtocolViolation.InvalidUtf8 or ProtocolViolation.InvalidCloseReason or ProtocolViolation.InvalidCompressedData => WebSocketCloseCode.InvalidPayloadData,
        ProtocolViolation.MessageTooBig or ProtocolViolation.FrameTooBig => WebSocketCloseCode.MessageTooBig,
        ProtocolViolation.TooManyFragments => WebSocketCloseCode.PolicyViolation,
        _ => WebSocketCloseCode.ProtocolError,
    };

    public static string Describe(this ProtocolViolation violation) => violation switch
    {
        ProtocolViolation.None => "none",
        ProtocolViolation.UnmaskedFrame => "client frame is not masked (RFC 6455 §5.1)",
        ProtocolViolation.MaskedFrame => "server frame is masked (RFC 6455 §5.1)",
        ProtocolViolation.ReservedBitsSet => "reserved bit set without a negotiated extension, or on a control/continuation frame (RFC 6455 §5.2)",
        ProtocolViolation.ReservedOpcode => "reserved opcode (RFC 6455 §5.2)",
        ProtocolViolation.ControlFrameTooLong => "control frame payload over 125 bytes (RFC 6455 §5.5)",
        ProtocolViolation.FragmentedControlFrame => "fragmented control frame (RFC 6455 §5.5)",
        ProtocolViolation.NonMinimalLength => "payload length not in its minimal encoding (RFC 6455 §5.2)",
        ProtocolViolation.LengthTooLarge => "64-bit payload length with the most significant bit set (RFC 6455 §5.2)",
        ProtocolViolation.UnexpectedContinuation => "continuation frame without a message in progress (RFC 6455 §5.4)",
        ProtocolViolation.ExpectedContinuation => "new data frame while a fragmented message is in progress (RFC 6455 §5.4)",
        ProtocolViolation.InvalidClosePayload => "close payload of one byte (RFC 6455 §5.5.1)",
        ProtocolViolation.InvalidCloseCode => "close code not allowed on the wire (RFC 6455 §7.4)",
        ProtocolViolation.InvalidUtf8 => "text message is not valid UTF-8 (RFC 6455 §8.1)",
        ProtocolViolation.InvalidCloseReason => "close reason is not valid UTF-8 (RFC 6455 §5.5.1)",
        ProtocolViolation.InvalidCompressedData => "compressed message is not valid DEFLATE data (RFC 7692 §7.2.2)",
        ProtocolViolation.MessageTooBig => "message larger than MaxMessageSize",
        ProtocolViolation.FrameTooBig => "frame larger than MaxFrameSize",
        ProtocolViolation.TooManyFragments => "too many fragments in one message",
        _ => violation.ToString(),
    };
}
