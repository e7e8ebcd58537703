using System.Buffers.Binary;

namespace AspNetWebSockets.TestShared;

/// <summary>A frame as <see cref="RawWebSocketClient"/> read it off the wire from the server.</summary>
internal sealed record Frame(bool Fin, int Rsv, byte Opcode, bool Masked, byte[] Payload)
{
    /// <summary>The status code of a close frame, or null when its payload is empty.</summary>
    public int? CloseCode => Payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(Payload) : null;

    /// <summary>
    /// The two parts most tests look at, so they can write <c>(byte opcode, byte[] payload) = await client.ReadFrameAsync()</c>.
    /// </summary>
    public void Deconstruct(out byte opcode, out byte[] payload)
    {
        opcode = Opcode;
        payload = Payload;
    }

    public override string ToString() =>
        $"opcode 0x{Opcode:X} fin={Fin} rsv={Rsv} masked={Masked} length={Payload.Length}" +
        (Opcode == TestShared.Opcode.Close ? $" code={CloseCode?.ToString() ?? "none"}" : "");
}
