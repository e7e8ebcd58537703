namespace AspNetWebSockets.Protocol;

/// <summary>A parsed RFC 6455 §5.2 frame header.</summary>
internal readonly struct FrameHeader
{
    public FrameHeader(bool fin, byte reservedBits, WebSocketOpcode opcode, bool masked, int maskKey, long payloadLength)
    {
        Fin = fin;
        ReservedBits = reservedBits;
        Opcode = opcode;
        Masked = masked;
        MaskKey = maskKey;
        PayloadLength = payloadLength;
    }

    /// <summary>FIN: this is the final fragment of a message.</summary>
    public bool Fin { get; }

    /// <summary>RSV1..RSV3 as they sit in the first byte: 0x40, 0x20, 0x10.</summary>
    public byte ReservedBits { get; }

    public bool Rsv1 => (ReservedBits & ReservedBit.Rsv1) != 0;

    public WebSocketOpcode Opcode { get; }

    public bool Masked { get; }

    /// <summary>The four masking-key bytes read little-endian, so byte i of the key is <c>(MaskKey &gt;&gt; 8*i) &amp; 0xFF</c>.</summary>
    public int MaskKey { get; }

    public long PayloadLength { get; }

    /// <summary>Control frames have the high opcode bit set (Close, Ping, Pong and reserved 0xB–0xF).</summary>
    public bool IsControl => ((byte)Opcode & 0x8) != 0;
}

/// <summary>The reserved bits of the first header byte, as extensions claim them (RFC 6455 §5.2, §9).</summary>
internal static class ReservedBit
{
    public const byte Rsv1 = 0x40;
    public const byte Rsv2 = 0x20;
    public const byte Rsv3 = 0x10;
    public const byte All = Rsv1 | Rsv2 | Rsv3;
}
