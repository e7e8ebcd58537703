using System.Buffers.Binary;
using System.Text;

namespace AspNetWebSockets.Protocol;

/// <summary>RFC 6455 §5.5.1 close-frame payloads: a 2-byte code followed by a UTF-8 reason, or nothing.</summary>
internal static class CloseFrame
{
    /// <summary>A control payload is at most 125 bytes, two of which are the code.</summary>
    public const int MaxReasonBytes = 123;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Parses a received close payload. An empty payload means "no status" (1005). One byte, a code that may
    /// not appear on the wire, or a reason that is not UTF-8 are violations.
    /// </summary>
    public static ProtocolViolation TryParse(ReadOnlySpan<byte> payload, out int code, out string reason)
    {
        ProtocolViolation violation = Validate(payload, out code);
        reason = violation == ProtocolViolation.None && payload.Length > 2 ? Encoding.UTF8.GetString(payload[2..]) : string.Empty;
        return violation;
    }

    /// <summary>
    /// The checks of <see cref="TryParse"/> without decoding the reason, so the receive path can vet a close frame
    /// without allocating. <paramref name="code"/> is 1005 for an empty payload and 1006 on a violation.
    /// </summary>
    public static ProtocolViolation Validate(ReadOnlySpan<byte> payload, out int code)
    {
        if (payload.IsEmpty)
        {
            code = WebSocketCloseCode.NoStatusReceived;
            return ProtocolViolation.None;
        }

        code = WebSocketCloseCode.AbnormalClosure;
        if (payload.Length == 1)
        {
            return ProtocolViolation.InvalidClosePayload;
        }

        int wireCode = BinaryPrimitives.ReadUInt16BigEndian(payload);
        if (!WebSocketCloseCode.IsValidOnWire(wireCode))
        {
            return ProtocolViolation.InvalidCloseCode;
        }

        if (!System.Text.Unicode.Utf8.IsValid(payload[2..]))
        {
            return ProtocolViolation.InvalidCloseReason;
        }

        code = wireCode;
        return ProtocolViolation.None;
    }

    /// <summary>
    /// Validates what an application asks to send and encodes it: the code must be valid on the wire and the
    /// reason well-formed UTF-16 whose UTF-8 form is at most 123 bytes. Invalid input is the caller's bug, so
    /// it throws rather than truncating (ADVISORIES #7).
    /// </summary>
    /// <returns>The number of bytes written to <paramref name="destination"/> (at least 125 bytes long).</returns>
    public static int Write(Span<byte> destination, int code, string? reason)
    {
        if (!WebSocketCloseCode.IsValidOnWire(code))
        {
            throw new ArgumentOutOfRangeException(nameof(code), code, "Close code must be 1000-1003, 1007-1014 or 3000-4999 (RFC 6455 §7.4).");
        }

        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)code);
        if (string.IsNullOrEmpty(reason))
        {
            return 2;
        }

        int byteCount;
        try
        {
            byteCount = StrictUtf8.GetByteCount(reason);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException("Close reason is not well-formed UTF-16 (lone surrogate).", nameof(reason), e);
        }

        if (byteCount > MaxReasonBytes)
        {
            throw new ArgumentException($"Close reason is {byteCount} bytes of UTF-8; at most {MaxReasonBytes} are allowed.", nameof(reason));
        }

        return 2 + StrictUtf8.GetBytes(reason, destination[2..]);
    }
}
