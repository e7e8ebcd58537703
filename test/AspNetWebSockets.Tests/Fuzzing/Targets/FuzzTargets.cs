namespace AspNetWebSockets.Fuzzing;

/// <summary>
/// The fuzz targets, by name. Shared verbatim between the SharpFuzz harness (build/fuzz) and the corpus replay unit
/// test, so what CI replays is exactly what AFL++ explored.
/// </summary>
/// <remarks>
/// A target takes arbitrary bytes and either returns or throws. Throwing <see cref="FuzzInvariantException"/> means an
/// invariant broke (wrong result, no progress, output over a cap); any other exception escaping the code under test is
/// a bug in itself, because the parsers report bad input as values, never by throwing.
/// </remarks>
internal static class FuzzTargets
{
    /// <summary>Target names in the order build/fuzz.sh runs them; also the corpus folder names.</summary>
    public static readonly IReadOnlyList<string> Names = ["frames", "handshake", "inflate", "utf8"];

    /// <summary>Runs the named target on one input.</summary>
    /// <exception cref="ArgumentException">The name is not a known target.</exception>
    public static void Run(string name, ReadOnlySpan<byte> input)
    {
        switch (name)
        {
            case "frames":
                FrameDecoderTarget.Run(input);
                break;
            case "handshake":
                HandshakeTarget.Run(input);
                break;
            case "inflate":
                InflateTarget.Run(input);
                break;
            case "utf8":
                Utf8Target.Run(input);
                break;
            default:
                throw new ArgumentException($"Unknown fuzz target '{name}'. Known: {string.Join(", ", Names)}.", nameof(name));
        }
    }
}

/// <summary>An invariant of the code under test did not hold for a fuzz input: a bug, reported as a crash to AFL.</summary>
internal sealed class FuzzInvariantException : Exception
{
    public FuzzInvariantException(string message)
        : base(message)
    {
    }

    /// <summary>Throws when <paramref name="condition"/> is false.</summary>
    public static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new FuzzInvariantException(message);
        }
    }
}

/// <summary>
/// Reads configuration bytes from the front of a fuzz input and cuts the rest into delivery chunks. Running out of
/// bytes yields zeros, so every input — even an empty one — is a valid configuration.
/// </summary>
internal ref struct FuzzInput
{
    private ReadOnlySpan<byte> _rest;

    public FuzzInput(ReadOnlySpan<byte> data) => _rest = data;

    /// <summary>The bytes not yet taken.</summary>
    public readonly ReadOnlySpan<byte> Rest => _rest;

    /// <summary>Takes one byte, or 0 when the input is exhausted.</summary>
    public byte Byte()
    {
        if (_rest.IsEmpty)
        {
            return 0;
        }

        byte b = _rest[0];
        _rest = _rest[1..];
        return b;
    }

    /// <summary>Takes a little-endian 16-bit value.</summary>
    public ushort UInt16() => (ushort)(Byte() | (Byte() << 8));

    /// <summary>Takes everything that is left.</summary>
    public ReadOnlySpan<byte> TakeRest()
    {
        ReadOnlySpan<byte> rest = _rest;
        _rest = default;
        return rest;
    }
}

/// <summary>
/// Deterministic chunk sizes from a one-byte seed, so the same input always splits the same way (AFL needs that to
/// reproduce a path). Seed 0 means "one chunk". Small sizes dominate: splits inside headers are where bugs hide.
/// </summary>
internal struct Splitter
{
    private uint _state;

    public Splitter(byte seed) => _state = seed == 0 ? 0 : 0x9E3779B9u ^ (seed * 0x85EBCA6Bu);

    /// <summary>The size of the next chunk of <paramref name="remaining"/> bytes (at least 1 when anything remains).</summary>
    public int Next(int remaining)
    {
        if (_state == 0 || remaining <= 1)
        {
            return remaining;
        }

        // xorshift32: cheap and good enough to vary the split points.
        _state ^= _state << 13;
        _state ^= _state >> 17;
        _state ^= _state << 5;
        int size = (_state & 3) switch
        {
            0 => 1 + (int)((_state >> 8) % 3),        // 1-3: inside a header
            1 => 1 + (int)((_state >> 8) % 16),       // up to a small frame
            2 => 1 + (int)((_state >> 8) % 256),
            _ => 1 + (int)((_state >> 8) % 4096),
        };
        return Math.Min(size, remaining);
    }
}
