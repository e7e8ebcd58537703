using System.Buffers;
using System.Buffers.Binary;

namespace AspNetWebSockets.Protocol;

/// <summary>
/// Parses RFC 6455 §5.2 frame headers from a <see cref="SequenceReader{T}"/>, in the shape of Kestrel's
/// HttpParser: each call either consumes a whole header, consumes nothing and asks for more data, or
/// reports a violation. It never loops without consuming, which rules out the endless-loop class of bug
/// (CVE-2021-26423).
/// </summary>
internal static class FrameReader
{
    /// <summary>The most payload a control frame may carry (RFC 6455 §5.5).</summary>
    public const int MaxControlPayload = 125;

    /// <summary>Largest header: 2 bytes + 8-byte extended length + 4-byte mask.</summary>
    public const int MaxHeaderSize = 14;

    /// <summary>
    /// Reads one frame header. Returns true with the header when it is complete (the reader is advanced past it);
    /// false with <paramref name="violation"/> = None when more bytes are needed (the reader is not advanced);
    /// false with a violation when the header breaks the protocol.
    /// </summary>
    /// <remarks>
    /// Rules checked here need only the header: masking direction for the role, reserved opcodes, control frames
    /// that are fragmented or longer than 125 bytes, a 64-bit length with the top bit set, and non-minimal length
    /// encodings (the RFC says the minimal encoding MUST be used; we enforce it). Rules that need the message state
    /// (continuations, reserved bits against negotiated extensions, size limits) are the decoder's.
    /// </remarks>
    public static bool TryReadHeader(ref SequenceReader<byte> reader, WebSocketRole role, out FrameHeader header, out ProtocolViolation violation)
    {
        header = default;
        violation = ProtocolViolation.None;

        scoped ReadOnlySpan<byte> span = reader.UnreadSpan;
        Span<byte> copy = stackalloc byte[MaxHeaderSize];
        if (span.Length < MaxHeaderSize)
        {
            // The header may straddle segments: gather what is there (at most 14 bytes) into one span.
            int available = (int)Math.Min(reader.Remaining, MaxHeaderSize);
            if (available < 2)
            {
                return false;
            }

            reader.TryCopyTo(copy[..available]);
            span = copy[..available];
        }

        byte b0 = span[0];
        byte b1 = span[1];
        bool fin = (b0 & 0x80) != 0;
        byte reserved = (byte)(b0 & ReservedBit.All);
        var opcode = (WebSocketOpcode)(b0 & 0x0F);
        bool masked = (b1 & 0x80) != 0;
        int length7 = b1 & 0x7F;

        if (!IsKnownOpcode(opcode))
        {
            violation = ProtocolViolation.ReservedOpcode;
            return false;
        }

        if (masked != (role == WebSocketRole.Server))
        {
            violation = role == WebSocketRole.Server ? ProtocolViolation.UnmaskedFrame : ProtocolViolation.MaskedFrame;
            return false;
        }

        bool control = ((byte)opcode & 0x8) != 0;
        if (control)
        {
            if (!fin)
            {
                violation = ProtocolViolation.FragmentedControlFrame;
                return false;
            }

            if (length7 > MaxControlPayload)
            {
                violation = ProtocolViolation.ControlFrameTooLong;
                return false;
            }
        }

        int lengthBytes = length7 switch { 126 => 2, 127 => 8, _ => 0 };
        int headerSize = 2 + lengthBytes + (masked ? 4 : 0);
        if (span.Length < headerSize)
        {
            return false;
        }

        long payloadLength = length7;
        if (lengthBytes == 2)
        {
            payloadLength = BinaryPrimitives.ReadUInt16BigEndian(span[2..]);
            if (payloadLength < 126)
            {
                violation = ProtocolViolation.NonMinimalLength;
                return false;
            }
        }
        else if (lengthBytes == 8)
        {
            ulong length64 = BinaryPrimitives.ReadUInt64BigEndian(span[2..]);
            if (length64 > long.MaxValue)
            {
                violation = ProtocolViolation.LengthTooLarge;
                return false;
            }

            if (length64 <= ushort.MaxValue)
            {
                violation = ProtocolViolation.NonMinimalLength;
                return false;
            }

            payloadLength = (long)length64;
        }

        int maskKey = masked ? BinaryPrimitives.ReadInt32LittleEndian(span[(2 + lengthBytes)..]) : 0;
        header = new FrameHeader(fin, reserved, opcode, masked, maskKey, payloadLength);
        reader.Advance(headerSize);
        return true;
    }

    private static bool IsKnownOpcode(WebSocketOpcode opcode) => opcode is
        WebSocketOpcode.Continuation or WebSocketOpcode.Text or WebSocketOpcode.Binary or
        WebSocketOpcode.Close or WebSocketOpcode.Ping or WebSocketOpcode.Pong;
}
