using System.Buffers;
using AspNetWebSockets.Protocol;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;

namespace AspNetWebSockets.Benchmarks;

public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}

/// <summary>In-place unmasking (<c>Masking.Apply</c>) and masked copy (<c>Masking.Copy</c>).</summary>
[MemoryDiagnoser]
public class MaskingBenchmarks
{
    private byte[] _data = null!;
    private byte[] _destination = null!;

    [Params(64, 16 * 1024, 1024 * 1024)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = new byte[Size];
        _destination = new byte[Size];
        new Random(42).NextBytes(_data);
    }

    [Benchmark]
    public int Apply() => Masking.Apply(_data, unchecked((int)0x9E3779B9), 0);

    [Benchmark]
    public int Copy() => Masking.Copy(_data, _destination, unchecked((int)0x9E3779B9), 1);
}

/// <summary>Parsing a masked client frame header (server role) from a single-segment sequence.</summary>
[MemoryDiagnoser]
public class FrameHeaderBenchmarks
{
    private ReadOnlySequence<byte> _small;
    private ReadOnlySequence<byte> _medium;
    private readonly byte[] _writeBuffer = new byte[16];

    [GlobalSetup]
    public void Setup()
    {
        _small = new ReadOnlySequence<byte>(new byte[] { 0x82, 0x80 | 64, 1, 2, 3, 4 }.Concat(new byte[64]).ToArray());
        _medium = new ReadOnlySequence<byte>(new byte[] { 0x82, 0x80 | 126, 0x40, 0x00, 1, 2, 3, 4 }.Concat(new byte[16 * 1024]).ToArray());
    }

    [Benchmark]
    public long Parse64B()
    {
        var reader = new SequenceReader<byte>(_small);
        FrameReader.TryReadHeader(ref reader, WebSocketRole.Server, out var header, out _);
        return header.PayloadLength;
    }

    [Benchmark]
    public long Parse16KiB()
    {
        var reader = new SequenceReader<byte>(_medium);
        FrameReader.TryReadHeader(ref reader, WebSocketRole.Server, out var header, out _);
        return header.PayloadLength;
    }

    [Benchmark]
    public int WriteServerHeader64B() =>
        FrameWriter.WriteHeader(_writeBuffer, WebSocketOpcode.Binary, fin: true, reservedBits: 0, payloadLength: 64, masked: false, maskKey: 0);
}

/// <summary>Incremental UTF-8 validation of a whole text message in one chunk.</summary>
[MemoryDiagnoser]
public class Utf8Benchmarks
{
    private byte[] _text = null!;

    [Params(64, 16 * 1024)]
    public int Size { get; set; }

    /// <summary>ascii: all 1-byte; mixed: repeating "aé€" (1 + 2 + 3 bytes).</summary>
    [Params("ascii", "mixed")]
    public string Text { get; set; } = "mixed";

    [GlobalSetup]
    public void Setup()
    {
        var unit = Text == "ascii" ? "abcdef"u8.ToArray() : "aé€"u8.ToArray();
        _text = new byte[Size];
        for (int i = 0; i + unit.Length <= Size; i += unit.Length) unit.CopyTo(_text, i);
        for (int i = Size - Size % unit.Length; i < Size; i++) _text[i] = (byte)'z';
    }

    [Benchmark]
    public bool Validate()
    {
        var v = new Utf8Validator();
        return v.TryValidate(_text, endOfMessage: true);
    }

    /// <summary>The BCL's vectorized validator on the same bytes: the floor for <see cref="Validate"/>.</summary>
    [Benchmark(Baseline = true)]
    public bool BclIsValid() => System.Text.Unicode.Utf8.IsValid(_text);
}
