using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace AspNetWebSockets.Protocol;

/// <summary>
/// RFC 6455 §5.3 masking: XOR with a 4-byte key that rotates with the payload offset. Vectorized with
/// Vector512/256/128 where the hardware has them; every vector width is a multiple of 4, so one key
/// replicated across the vector stays aligned with the payload.
/// </summary>
internal static class Masking
{
    /// <summary>Masks (or unmasks, the same operation) <paramref name="data"/> in place.</summary>
    /// <param name="data">The bytes to transform.</param>
    /// <param name="maskKey">The key as read little-endian from the frame header.</param>
    /// <param name="offset">How many payload bytes of this frame came before <paramref name="data"/>, modulo 4.</param>
    /// <returns>The offset to pass for the bytes that follow.</returns>
    public static int Apply(Span<byte> data, int maskKey, int offset) =>
        Transform(ref MemoryMarshal.GetReference(data), ref MemoryMarshal.GetReference(data), data.Length, maskKey, offset);

    /// <summary>Copies <paramref name="source"/> into <paramref name="destination"/> while masking it: one pass over the data.</summary>
    /// <returns>The offset to pass for the bytes that follow.</returns>
    public static int Copy(ReadOnlySpan<byte> source, Span<byte> destination, int maskKey, int offset)
    {
        if (destination.Length < source.Length)
        {
            throw new ArgumentException("Destination is too short.", nameof(destination));
        }

        return Transform(ref MemoryMarshal.GetReference(source), ref MemoryMarshal.GetReference(destination), source.Length, maskKey, offset);
    }

    private static int Transform(ref byte source, ref byte destination, int length, int maskKey, int offset)
    {
        // Rotate so that byte 0 of the key lines up with the first byte we process.
        uint key = BitOperations.RotateRight((uint)maskKey, 8 * (offset & 3));
        nuint i = 0;
        nuint n = (nuint)length;

        if (BitConverter.IsLittleEndian)
        {
            if (Vector512.IsHardwareAccelerated && n >= (nuint)Vector512<byte>.Count)
            {
                Vector512<byte> mask = Vector512.Create(key).AsByte();
                for (; i + (nuint)Vector512<byte>.Count <= n; i += (nuint)Vector512<byte>.Count)
                {
                    (Vector512.LoadUnsafe(ref source, i) ^ mask).StoreUnsafe(ref destination, i);
                }
            }

            if (Vector256.IsHardwareAccelerated && n - i >= (nuint)Vector256<byte>.Count)
            {
                Vector256<byte> mask = Vector256.Create(key).AsByte();
                for (; i + (nuint)Vector256<byte>.Count <= n; i += (nuint)Vector256<byte>.Count)
                {
                    (Vector256.LoadUnsafe(ref source, i) ^ mask).StoreUnsafe(ref destination, i);
                }
            }

            if (Vector128.IsHardwareAccelerated && n - i >= (nuint)Vector128<byte>.Count)
            {
                Vector128<byte> mask = Vector128.Create(key).AsByte();
                for (; i + (nuint)Vector128<byte>.Count <= n; i += (nuint)Vector128<byte>.Count)
                {
                    (Vector128.LoadUnsafe(ref source, i) ^ mask).StoreUnsafe(ref destination, i);
                }
            }

            for (; i + 4 <= n; i += 4)
            {
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref destination, i), Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref source, i)) ^ key);
            }
        }

        // i is a multiple of 4 here, so byte k of the rotated key applies to position i + k.
        for (; i < n; i++)
        {
            Unsafe.Add(ref destination, i) = (byte)(Unsafe.Add(ref source, i) ^ (byte)(key >> (int)(8 * (i & 3))));
        }

        return (int)((uint)(offset + length) & 3);
    }
}
