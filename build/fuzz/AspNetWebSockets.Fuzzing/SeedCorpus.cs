using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using AspNetWebSockets.Compression;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets.Fuzzing;

/// <summary>
/// The hand-made seed corpus: small, deterministic inputs (fixed mask keys) that reach each target's interesting
/// states, so AFL starts from valid protocol instead of having to discover it. Committed under build/fuzz/corpus
/// and regenerated only when the input layouts change.
/// </summary>
internal static class SeedCorpus
{
    private const int MaskKey = 0x5A3C9E17;

    public static int Write(string root)
    {
        int count = 0;
        foreach ((string target, string name, byte[] bytes) in All())
        {
            string folder = Path.Combine(root, target);
            Directory.CreateDirectory(folder);
            File.WriteAllBytes(Path.Combine(folder, name), bytes);
            count++;
        }

        return count;
    }

    private static IEnumerable<(string Target, string Name, byte[] Bytes)> All()
    {
        foreach ((string name, byte[] bytes) in Frames())
        {
            yield return ("frames", name, bytes);
        }

        foreach ((string name, byte[] bytes) in Handshakes())
        {
            yield return ("handshake", name, bytes);
        }

        foreach ((string name, byte[] bytes) in Inflates())
        {
            yield return ("inflate", name, bytes);
        }

        yield return ("utf8", "ascii", [0x07, .. "hello, world"u8]);
        yield return ("utf8", "multibyte-split", [0x35, .. "κόσμε € 𝄞 日本語"u8]);
        yield return ("utf8", "surrogate-encoded", [0x11, (byte)'a', 0xED, 0xA0, 0x80, (byte)'b']);
        yield return ("utf8", "overlong", [0x00, 0xC0, 0xAF]);
        yield return ("utf8", "truncated-at-end", [0x00, (byte)'x', 0xF0, 0x9F, 0x98]);
        yield return ("utf8", "above-max", [0x03, 0xF4, 0x90, 0x80, 0x80]);
    }

    // frames: [flags, size, frame, fragments, buffer, split] + wire bytes (see FrameDecoderTarget).
    private static IEnumerable<(string, byte[])> Frames()
    {
        byte[] Config(byte flags = 0, byte size = 0xE0, byte buffer = 0x20, byte split = 0x00) => [flags, size, 0, 0x80, buffer, split];
        byte[] Cat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

        yield return ("text-hello", Cat(Config(), Masked(WebSocketOpcode.Text, true, 0, "Hello"u8)));
        yield return ("text-hello-split", Cat(Config(split: 0x2B), Masked(WebSocketOpcode.Text, true, 0, "Hello"u8)));
        yield return ("binary-200", Cat(Config(buffer: 0x81), Masked(WebSocketOpcode.Binary, true, 0, Enumerable.Range(0, 200).Select(i => (byte)i).ToArray())));
        yield return ("binary-70000", Cat(Config(size: 0xFF, buffer: 0xC0, split: 0x77), Masked(WebSocketOpcode.Binary, true, 0, new byte[70000])));
        yield return ("fragmented-text", Cat(Config(split: 0x05),
            Masked(WebSocketOpcode.Text, false, 0, "κό"u8), Masked(WebSocketOpcode.Continuation, false, 0, "σ"u8[..1]),
            Masked(WebSocketOpcode.Continuation, false, 0, "σ"u8[1..]), Masked(WebSocketOpcode.Continuation, true, 0, "με"u8)));
        yield return ("ping-between-fragments", Cat(Config(),
            Masked(WebSocketOpcode.Binary, false, 0, [1, 2, 3]), Masked(WebSocketOpcode.Ping, true, 0, "p"u8),
            Masked(WebSocketOpcode.Continuation, true, 0, [4, 5])));
        yield return ("empty-fragments", Cat(Config(), Masked(WebSocketOpcode.Text, false, 0, []), Masked(WebSocketOpcode.Continuation, false, 0, []),
            Masked(WebSocketOpcode.Continuation, true, 0, [])));
        yield return ("pong-then-close", Cat(Config(), Masked(WebSocketOpcode.Pong, true, 0, []), Masked(WebSocketOpcode.Close, true, 0, [0x03, 0xE8, .. "bye"u8])));
        yield return ("close-empty", Cat(Config(), Masked(WebSocketOpcode.Close, true, 0, [])));
        yield return ("close-bad-code", Cat(Config(), Masked(WebSocketOpcode.Close, true, 0, [0x03, 0xED])));
        yield return ("close-125", Cat(Config(split: 0x13), Masked(WebSocketOpcode.Close, true, 0, [0x0F, 0xA0, .. Enumerable.Repeat((byte)'r', 123)])));
        yield return ("server-role-unmasked", Cat(Config(), Unmasked(WebSocketOpcode.Text, true, 0, "x"u8)));
        yield return ("client-role", Cat(Config(flags: 1), Unmasked(WebSocketOpcode.Text, true, 0, "from server"u8), Unmasked(WebSocketOpcode.Ping, true, 0, []),
            Unmasked(WebSocketOpcode.Binary, true, 0, new byte[300])));
        yield return ("length-127-form", Cat(Config(size: 0xFF, buffer: 0xFF), Masked(WebSocketOpcode.Binary, true, 0, new byte[65536])));
        yield return ("non-minimal-length", Cat(Config(), [0x82, 0xFE, 0x00, 0x05, 0, 0, 0, 0, 1, 2, 3, 4, 5]));
        yield return ("length-msb-set", Cat(Config(), [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
        yield return ("too-big", Cat(Config(size: 0x03), Masked(WebSocketOpcode.Binary, true, 0, new byte[10])));
        yield return ("too-many-fragments", Cat([0, 0xE0, 0, 0x01, 0x20, 0], Masked(WebSocketOpcode.Binary, false, 0, [1]),
            Masked(WebSocketOpcode.Continuation, false, 0, [2]), Masked(WebSocketOpcode.Continuation, true, 0, [3])));
        yield return ("invalid-utf8", Cat(Config(), Masked(WebSocketOpcode.Text, true, 0, [0x61, 0xC3, 0x28])));
        yield return ("reserved-opcode", Cat(Config(), [0x83, 0x80, 0, 0, 0, 0]));

        // permessage-deflate negotiated (flags bit 1), with and without context takeover, window 15 (bits 4-6 = 6).
        byte deflateFlags = 0x02 | 0x04 | 0x60;
        using (var deflater = new MessageDeflater(6, 15, 8, contextTakeover: true))
        {
            byte[] first = Compress(deflater, "Hello, compressed world! Hello, compressed world!"u8);
            byte[] second = Compress(deflater, "Hello, compressed world! again"u8);
            yield return ("deflate-two-messages", Cat(Config(flags: deflateFlags, split: 0x21), Masked(WebSocketOpcode.Text, true, ReservedBit.Rsv1, first),
                Masked(WebSocketOpcode.Text, true, ReservedBit.Rsv1, second)));
        }

        using (var deflater = new MessageDeflater(6, 15, 8, contextTakeover: false))
        {
            byte[] zeros = Compress(deflater, new byte[100_000]);
            yield return ("deflate-bomb-100k", Cat(Config(flags: 0x02 | 0x60, size: 0xBF, buffer: 0x90), Masked(WebSocketOpcode.Binary, true, ReservedBit.Rsv1, zeros)));
            byte[] text = Compress(deflater, Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("fragmented ü ", 40))));
            int half = text.Length / 2;
            yield return ("deflate-fragmented", Cat(Config(flags: 0x02 | 0x60, buffer: 0x07, split: 0x09),
                Masked(WebSocketOpcode.Text, false, ReservedBit.Rsv1, text[..half]), Masked(WebSocketOpcode.Ping, true, 0, []),
                Masked(WebSocketOpcode.Continuation, true, 0, text[half..])));
        }

        yield return ("deflate-uncompressed-message", Cat(Config(flags: deflateFlags), Masked(WebSocketOpcode.Text, true, 0, "plain"u8)));
        yield return ("deflate-bfinal", Cat(Config(flags: deflateFlags), Masked(WebSocketOpcode.Binary, true, ReservedBit.Rsv1, DeflateStreamCompress("finished stream"u8)),
            Masked(WebSocketOpcode.Binary, true, ReservedBit.Rsv1, DeflateStreamCompress("finished stream"u8))));
        yield return ("rsv1-without-deflate", Cat(Config(), Masked(WebSocketOpcode.Text, true, ReservedBit.Rsv1, [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])));
    }

    // handshake: [flags] + fields separated by \n (see HandshakeTarget.Field for the order).
    private static IEnumerable<(string, byte[])> Handshakes()
    {
        byte[] Request(byte flags, params string[] fields) => [flags, .. Encoding.Latin1.GetBytes(string.Join('\n', fields))];
        const string Key = "dGhlIHNhbXBsZSBub25jZQ==";

        // Method, Protocol, Host, Upgrade, Connection, Key, Version, SubProtocols, Extensions, ContentLength,
        // TransferEncoding, Origin, AllowedOrigins, ConnectProtocol, ServerSubProtocols
        yield return ("chromium", Request(0x00, "GET", "HTTP/1.1", "localhost:5080", "websocket", "Upgrade", "x3JJHMbDL1EzLkh9GBhXDw==", "13", "",
            "permessage-deflate; client_max_window_bits", "", "", "http://localhost:5080", "", "", ""));
        yield return ("chromium-subprotocols", Request(0x00, "GET", "HTTP/1.1", "example.com", "websocket", "Upgrade", Key, "13", "chat.v2, chat.v1",
            "permessage-deflate; client_max_window_bits", "", "", "https://example.com", "https://example.com\vhttps://other.example:8443", "", "chat.v1\vchat.v2"));
        yield return ("node-ws", Request(0x00, "GET", "HTTP/1.1", "127.0.0.1:5000", "websocket", "Upgrade", Key, "13", "",
            "permessage-deflate; client_max_window_bits", "", "", "", "", "", ""));
        yield return ("clientwebsocket", Request(0x00, "GET", "HTTP/1.1", "127.0.0.1:5000", "websocket", "Upgrade", Key, "13", "chat",
            "permessage-deflate; client_max_window_bits=15; server_max_window_bits=10; server_no_context_takeover", "", "", "", "", "", "chat"));
        yield return ("firefox", Request(0x00, "GET", "HTTP/1.1", "localhost", "websocket", "keep-alive, Upgrade", Key, "13", "",
            "permessage-deflate", "", "", "http://localhost", "", "", ""));
        yield return ("deflate-params", Request(0x94, "GET", "HTTP/1.1", "h", "WebSocket", "upgrade", Key, "13", "",
            "permessage-deflate; client_no_context_takeover; server_max_window_bits=\"12\"; client_max_window_bits=9, permessage-deflate; server_max_window_bits=8, x-webkit-deflate-frame",
            "", "", "", "", "", ""));
        yield return ("http2-connect", Request(0x02, "CONNECT", "HTTP/2", "example.com", "", "", "", "13", "graphql-ws", "", "", "", "https://example.com", "", "websocket", "graphql-ws"));
        yield return ("bad-quoted", Request(0x00, "GET", "HTTP/1.1", "h", "websocket", "Upgrade", Key, "13", "a b, c", "a; b=\"\\c\\c\\c", "", "", "null", "null", "", ""));
        yield return ("duplicates", Request(0x00, "GET", "HTTP/1.0", "h\vh2", "websocket", "Upgrade", $"{Key}, {Key}", "13\v8", ",,", "a;;b", "5", "chunked", "http://h:80", "", "", ""));
        yield return ("odd-origins", Request(0x00, "GET", "HTTP/1.1", "[::1]:8080", "websocket", "Upgrade", Key, "13", "", "", "", "",
            "http://[::1]:8080", "HTTP://[::1]:8080\vhttps://xn--bcher-kva.example\vhttp://user@host\vhttp://host:99999", "", ""));
        yield return ("utf8-values", [0x01, .. Encoding.UTF8.GetBytes("GET\nHTTP/1.1\nпример.рф\nwebsocket\nUpgrade\n" + Key + "\n13\nчат\npermessage-deflate; a=\"ü\"\n\n\nhttps://пример.рф")]);
    }

    // inflate: [flags, output, cap, split, level] + messages as (u16 length, bytes) (see InflateTarget).
    private static IEnumerable<(string, byte[])> Inflates()
    {
        byte[] Messages(params byte[][] messages)
        {
            var result = new List<byte>();
            foreach (byte[] message in messages)
            {
                result.Add((byte)message.Length);
                result.Add((byte)(message.Length >> 8));
                result.AddRange(message);
            }

            return result.ToArray();
        }

        byte[] text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog. ", 20)));
        using (var deflater = new MessageDeflater(6, 15, 8, contextTakeover: true))
        {
            byte[] a = Compress(deflater, text);
            byte[] b = Compress(deflater, text);
            yield return ("raw-takeover", [0x0E, 0x3F, 0x10, 0x17, 0x05, .. Messages(a, b)]);
        }

        using (var deflater = new MessageDeflater(9, 9, 8, contextTakeover: false))
        {
            yield return ("raw-window9", [0x00, 0x0F, 0x04, 0x2D, 0x08, .. Messages(Compress(deflater, text))]);
            yield return ("raw-bomb", [0x06, 0xFF, 0x00, 0x00, 0x00, .. Messages(Compress(deflater, new byte[60_000]))]);
        }

        yield return ("raw-stored-block", [0x06, 0x10, 0x10, 0x00, 0x00, .. Messages([0x00, 0x05, 0x00, 0xFA, 0xFF, .. "hello"u8])]);
        yield return ("raw-bfinal", [0x0E, 0x20, 0x10, 0x00, 0x00, .. Messages(DeflateStreamCompress("one"u8), DeflateStreamCompress("two"u8))]);
        yield return ("raw-invalid", [0x06, 0x20, 0x10, 0x00, 0x00, .. Messages([0xFF, 0xFF, 0xFF])]);
        yield return ("raw-empty", [0x06, 0x20, 0x10, 0x00, 0x00, .. Messages([], [0x00])]);
        yield return ("roundtrip-deflater", [0x1E, 0x07, 0x00, 0x11, 0x06, .. Messages(text, [], "a"u8.ToArray(), text)]);
        yield return ("roundtrip-deflater-window9", [0x10, 0x40, 0x00, 0x51, 0x01, .. Messages(text, new byte[5000])]);
        yield return ("roundtrip-deflatestream", [0x20, 0x21, 0x00, 0x33, 0x06, .. Messages(text, "x"u8.ToArray())]);
        yield return ("roundtrip-deflatestream-takeover", [0x28, 0x21, 0x00, 0x33, 0x06, .. Messages(text, text)]);
    }

    private static byte[] Masked(WebSocketOpcode opcode, bool fin, byte reserved, ReadOnlySpan<byte> payload) => Frame(opcode, fin, reserved, payload, masked: true);

    private static byte[] Unmasked(WebSocketOpcode opcode, bool fin, byte reserved, ReadOnlySpan<byte> payload) => Frame(opcode, fin, reserved, payload, masked: false);

    private static byte[] Frame(WebSocketOpcode opcode, bool fin, byte reserved, ReadOnlySpan<byte> payload, bool masked)
    {
        byte[] frame = new byte[FrameWriter.GetHeaderSize(payload.Length, masked) + payload.Length];
        int header = FrameWriter.WriteHeader(frame, opcode, fin, reserved, payload.Length, masked, MaskKey);
        if (masked)
        {
            Masking.Copy(payload, frame.AsSpan(header), MaskKey, 0);
        }
        else
        {
            payload.CopyTo(frame.AsSpan(header));
        }

        return frame;
    }

    private static byte[] Compress(MessageDeflater deflater, ReadOnlySpan<byte> message)
    {
        using var output = new PooledBufferWriter();
        deflater.Compress(message, output);
        return output.WrittenSpan.ToArray();
    }

    private static byte[] DeflateStreamCompress(ReadOnlySpan<byte> message)
    {
        var buffer = new MemoryStream();
        using (var deflate = new DeflateStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
        {
            deflate.Write(message);
        }

        return buffer.ToArray();
    }
}
