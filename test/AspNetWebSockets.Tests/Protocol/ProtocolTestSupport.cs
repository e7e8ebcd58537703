using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Net.WebSockets;
using System.Security.Cryptography;
using AspNetWebSockets.Protocol;
using Xunit;

namespace AspNetWebSockets.Tests.Protocol;

// Conventions of these tests: the protocol types are internal, and a public test method cannot take an internal
// type, so theories take `Enum xValue` (InlineData still names the member, e.g. WebSocketOpcode.Ping) and cast
// it back. Each rule's test names the RFC 6455 section it checks, or the ADVISORIES.md item.

/// <summary>One link of a hand-built multi-segment <see cref="ReadOnlySequence{T}"/>.</summary>
internal sealed class TestSegment : ReadOnlySequenceSegment<byte>
{
    public TestSegment(ReadOnlyMemory<byte> memory)
    {
        Memory = memory;
    }

    public TestSegment Append(ReadOnlyMemory<byte> memory)
    {
        var next = new TestSegment(memory) { RunningIndex = RunningIndex + Memory.Length };
        Next = next;
        return next;
    }
}

/// <summary>Builds sequences whose segment boundaries the test chooses.</summary>
internal static class Sequences
{
    /// <summary>A sequence with exactly the given segments (empty ones included), in order.</summary>
    public static ReadOnlySequence<byte> FromSegments(IReadOnlyList<ReadOnlyMemory<byte>> segments)
    {
        if (segments.Count == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        if (segments.Count == 1)
        {
            return new ReadOnlySequence<byte>(segments[0]);
        }

        var first = new TestSegment(segments[0]);
        TestSegment last = first;
        for (int i = 1; i < segments.Count; i++)
        {
            last = last.Append(segments[i]);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    public static ReadOnlySequence<byte> FromSegments(params byte[][] segments) =>
        FromSegments(segments.Select(s => (ReadOnlyMemory<byte>)s).ToArray());

    /// <summary>Cuts <paramref name="data"/> at the given ascending offsets (duplicates give empty segments).</summary>
    public static ReadOnlySequence<byte> Split(byte[] data, params int[] cuts) => FromSegments(SplitMemory(data, cuts));

    public static List<ReadOnlyMemory<byte>> SplitMemory(byte[] data, IReadOnlyList<int> cuts)
    {
        var segments = new List<ReadOnlyMemory<byte>>(cuts.Count + 1);
        int start = 0;
        foreach (int cut in cuts)
        {
            segments.Add(data.AsMemory(start, cut - start));
            start = cut;
        }

        segments.Add(data.AsMemory(start));
        return segments;
    }

    /// <summary>One segment per byte.</summary>
    public static ReadOnlySequence<byte> OneBytePerSegment(byte[] data) =>
        Split(data, Enumerable.Range(1, Math.Max(0, data.Length - 1)).ToArray());

    /// <summary>Random ascending cut points giving between 1 and <paramref name="maxSegments"/> segments.</summary>
    public static int[] RandomCuts(Random random, int length, int maxSegments)
    {
        int count = random.Next(0, Math.Max(1, Math.Min(maxSegments, length + 1)));
        var cuts = new int[count];
        for (int i = 0; i < count; i++)
        {
            cuts[i] = random.Next(0, length + 1);
        }

        Array.Sort(cuts);
        return cuts;
    }
}

internal static class Hex
{
    /// <summary>"81 85 37 fa" → bytes; whitespace is ignored.</summary>
    public static byte[] Parse(string hex) =>
        Convert.FromHexString(string.Concat(hex.Where(c => !char.IsWhiteSpace(c))));
}

/// <summary>Builds wire frames with <see cref="FrameWriter"/>.</summary>
internal static class Frames
{
    public const int DefaultMaskKey = 0x3D21FA37; // the RFC 6455 §5.7 example key 37 fa 21 3d

    /// <summary>A masked frame, as a client sends it (what a Server-role decoder expects), with a fixed key.</summary>
    public static byte[] Masked(WebSocketOpcode opcode, bool fin, ReadOnlySpan<byte> payload, byte reservedBits = 0, int maskKey = DefaultMaskKey)
    {
        var frame = new byte[FrameWriter.GetHeaderSize(payload.Length, masked: true) + payload.Length];
        int header = FrameWriter.WriteHeader(frame, opcode, fin, reservedBits, payload.Length, masked: true, maskKey);
        Masking.Copy(payload, frame.AsSpan(header), maskKey, 0);
        return frame;
    }

    /// <summary>A whole client frame written through <see cref="FrameWriter.WriteFrame(IBufferWriter{byte}, WebSocketRole, WebSocketOpcode, bool, byte, ReadOnlySpan{byte})"/> (random key).</summary>
    public static byte[] Client(WebSocketOpcode opcode, bool fin, ReadOnlySpan<byte> payload, byte reservedBits = 0)
    {
        var writer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteFrame(writer, WebSocketRole.Client, opcode, fin, reservedBits, payload);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>An unmasked frame, as a server sends it (what a Client-role decoder expects).</summary>
    public static byte[] Server(WebSocketOpcode opcode, bool fin, ReadOnlySpan<byte> payload, byte reservedBits = 0)
    {
        var writer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteFrame(writer, WebSocketRole.Server, opcode, fin, reservedBits, payload);
        return writer.WrittenSpan.ToArray();
    }

    /// <summary>Only the header of a masked frame that declares <paramref name="payloadLength"/> bytes.</summary>
    public static byte[] MaskedHeader(WebSocketOpcode opcode, bool fin, long payloadLength, byte reservedBits = 0, int maskKey = DefaultMaskKey)
    {
        var header = new byte[FrameReader.MaxHeaderSize];
        int size = FrameWriter.WriteHeader(header, opcode, fin, reservedBits, payloadLength, masked: true, maskKey);
        return header[..size];
    }

    public static byte[] ClosePayload(int code, string reason = "")
    {
        var payload = new byte[2 + System.Text.Encoding.UTF8.GetByteCount(reason)];
        BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)code);
        System.Text.Encoding.UTF8.GetBytes(reason, payload.AsSpan(2));
        return payload;
    }

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}

/// <summary>A complete message or control frame as the application would see it.</summary>
internal sealed class DecodedItem
{
    public DecodedItem(WebSocketOpcode opcode, byte[] payload)
    {
        Opcode = opcode;
        Payload = payload;
    }

    /// <summary>Text or Binary for a message; Close, Ping or Pong for a control frame.</summary>
    public WebSocketOpcode Opcode { get; }

    public byte[] Payload { get; }

    /// <summary>A compact identity for comparing long event lists.</summary>
    public string Key => string.Create(CultureInfo.InvariantCulture, $"{Opcode}/{Payload.Length}/{Convert.ToHexString(SHA256.HashData(Payload))[..16]}");

    public override string ToString() => Key;
}

/// <summary>One <see cref="DecodeStatus.Data"/> or <see cref="DecodeStatus.Control"/> result, as returned.</summary>
internal readonly record struct RawEvent(DecodeStatus Status, WebSocketOpcode Opcode, int Length, bool EndOfMessage);

/// <summary>
/// Feeds bytes to a <see cref="MessageDecoder"/> — or to the whole protocol object, <see cref="WebSocketProtocol"/>, as the
/// connection runs it — the way a pipe reader would: each feed is appended to what was left unconsumed (as a separate
/// segment), and Decode (Receive) is called until it asks for more data or fails. Checks on every call the invariants
/// the receive loop depends on (ADVISORIES #11/#12).
/// </summary>
internal sealed class DecoderDriver
{
    private readonly WebSocketProtocol? _protocol;
    private readonly byte[] _destination;
    private readonly List<byte> _message = [];
    private WebSocketOpcode _messageOpcode;
    private bool _inMessage;
    private byte[] _leftover = [];

    public DecoderDriver(WebSocketRole role = WebSocketRole.Server, DecoderLimits? limits = null, int destinationSize = 4096)
        : this(new MessageDecoder(role, limits ?? DefaultLimits), destinationSize)
    {
    }

    public DecoderDriver(MessageDecoder decoder, int destinationSize)
    {
        Assert.True(destinationSize > 0);
        Decoder = decoder;
        _destination = new byte[destinationSize];
    }

    /// <summary>Drives <paramref name="protocol"/>: its events are reported as the decoder's statuses (Ping, Pong and Close as Control).</summary>
    public DecoderDriver(WebSocketProtocol protocol, int destinationSize)
        : this(new MessageDecoder(protocol.Role, protocol.Limits), destinationSize)
    {
        _protocol = protocol;
    }

    public static DecoderLimits DefaultLimits { get; } = new(MaxMessageSize: 1 << 20, MaxFrameSize: 1 << 20, MaxFragmentsPerMessage: 1024);

    public MessageDecoder Decoder { get; }

    /// <summary>Complete messages and control frames, in arrival order.</summary>
    public List<DecodedItem> Items { get; } = [];

    /// <summary>Every Data/Control result.</summary>
    public List<RawEvent> Events { get; } = [];

    public ProtocolViolation Violation { get; private set; }

    public int Calls { get; private set; }

    /// <summary>Bytes handed to the driver that the decoder has not consumed yet.</summary>
    public int Unconsumed => _leftover.Length;

    public DecodeStatus Feed(byte[] bytes) => Feed([bytes]);

    public DecodeStatus FeedAll(byte[] bytes, int chunkSize)
    {
        DecodeStatus status = DecodeStatus.NeedMoreData;
        for (int i = 0; i < bytes.Length && status != DecodeStatus.Violation; i += chunkSize)
        {
            status = Feed(bytes[i..Math.Min(bytes.Length, i + chunkSize)]);
        }

        return status;
    }

    /// <summary>Appends the segments to the unconsumed bytes and decodes until NeedMoreData or a violation.</summary>
    public DecodeStatus Feed(IReadOnlyList<ReadOnlyMemory<byte>> segments)
    {
        Assert.Equal(ProtocolViolation.None, Violation); // a failed connection is not read again
        var all = new List<ReadOnlyMemory<byte>>(segments.Count + 1);
        if (_leftover.Length > 0)
        {
            all.Add(_leftover);
        }

        all.AddRange(segments);
        var reader = new SequenceReader<byte>(Sequences.FromSegments(all));
        while (true)
        {
            long before = reader.Consumed;
            long remainingBefore = reader.Remaining;
            Calls++;
            DecodeStatus status = Decode(ref reader, out int written, out bool endOfMessage, out ProtocolViolation violation, out WebSocketMessageType messageType, out WebSocketOpcode controlOpcode);
            long consumed = reader.Consumed - before;
            Assert.InRange(consumed, 0, remainingBefore);

            switch (status)
            {
                case DecodeStatus.NeedMoreData:
                    // ADVISORIES #11: asking for more data is only honest if what is left cannot make progress:
                    // at most a partial header (≤ 13 bytes) stays behind.
                    Assert.Equal(ProtocolViolation.None, violation);
                    Assert.InRange(reader.Remaining, 0, FrameReader.MaxHeaderSize - 1);
                    _leftover = reader.UnreadSequence.ToArray();
                    return status;

                case DecodeStatus.Violation:
                    Assert.NotEqual(ProtocolViolation.None, violation);
                    Violation = violation;
                    _leftover = reader.UnreadSequence.ToArray();
                    return status;

                case DecodeStatus.Data:
                    // ADVISORIES #11: a call that reports something consumed something (or, for a message an extension
                    // decodes, delivered output of input it staged before).
                    Assert.True(consumed > 0 || _protocol?.Extension is not null, "Data returned without consuming input");
                    Assert.Equal(ProtocolViolation.None, violation);
                    Assert.InRange(written, 0, _destination.Length);
                    Assert.True(written > 0 || endOfMessage, "empty Data result that does not end a message");
                    var type = messageType == WebSocketMessageType.Text ? WebSocketOpcode.Text : WebSocketOpcode.Binary;
                    if (_inMessage)
                    {
                        Assert.Equal(_messageOpcode, type);
                    }

                    _inMessage = true;
                    _messageOpcode = type;
                    _message.AddRange(_destination.AsSpan(0, written));
                    Events.Add(new RawEvent(status, type, written, endOfMessage));
                    if (endOfMessage)
                    {
                        Items.Add(new DecodedItem(type, [.. _message]));
                        _message.Clear();
                        _inMessage = false;
                    }

                    if (_protocol is null)
                    {
                        Assert.Equal(!endOfMessage, Decoder.InMessage);
                    }

                    break;

                case DecodeStatus.Control:
                    ReadOnlySpan<byte> payload = _protocol is null ? Decoder.ControlPayload : _protocol.ControlPayload;
                    Assert.True(consumed > 0, "Control returned without consuming input");
                    Assert.Equal(ProtocolViolation.None, violation);
                    Assert.Equal(0, written);
                    Assert.InRange(payload.Length, 0, 125); // RFC 6455 §5.5
                    Assert.True(controlOpcode is WebSocketOpcode.Close or WebSocketOpcode.Ping or WebSocketOpcode.Pong);
                    Events.Add(new RawEvent(status, controlOpcode, payload.Length, true));
                    Items.Add(new DecodedItem(controlOpcode, payload.ToArray()));
                    break;

                default:
                    Assert.Fail($"unknown status {status}");
                    break;
            }
        }
    }

    /// <summary>One step of the decoder, or of the protocol object with its events mapped onto the decoder's statuses.</summary>
    private DecodeStatus Decode(ref SequenceReader<byte> reader, out int written, out bool endOfMessage, out ProtocolViolation violation, out WebSocketMessageType messageType, out WebSocketOpcode controlOpcode)
    {
        if (_protocol is null)
        {
            DecodeStatus status = Decoder.Decode(ref reader, _destination, out written, out endOfMessage, out violation);
            messageType = Decoder.MessageType;
            controlOpcode = Decoder.ControlOpcode;
            return status;
        }

        ProtocolEvent received = _protocol.Receive(ref reader, _destination, out written, out endOfMessage);
        violation = received == ProtocolEvent.Violation ? _protocol.Violation : ProtocolViolation.None;
        messageType = _protocol.MessageType;
        controlOpcode = received switch
        {
            ProtocolEvent.Ping => WebSocketOpcode.Ping,
            ProtocolEvent.Pong => WebSocketOpcode.Pong,
            _ => WebSocketOpcode.Close,
        };
        return received switch
        {
            ProtocolEvent.NeedMoreData => DecodeStatus.NeedMoreData,
            ProtocolEvent.Data => DecodeStatus.Data,
            ProtocolEvent.Violation => DecodeStatus.Violation,
            _ => DecodeStatus.Control,
        };
    }
}
