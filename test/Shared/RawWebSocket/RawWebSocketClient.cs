using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Xunit;

namespace AspNetWebSockets.TestShared;

/// <summary>
/// A WebSocket client over a plain TCP socket, for tests that must control every byte: it does the RFC 6455 §4.1
/// opening handshake by hand (or leaves the socket bare for handshake tests), writes whatever bytes a test builds
/// (malformed frames, partial frames, floods), parses the server's frames with its own small parser, and can end the
/// connection with a FIN or a TCP reset. Linked as source into the conformance and integration test projects.
/// </summary>
/// <remarks>
/// Every read and write is bounded by a timeout and by the test's cancellation, so a server that hangs fails the test
/// instead of stalling it. A frame is consumed only once all of it has arrived, so a read that times out leaves the
/// client usable: a test can check that nothing arrives for a while and then read on.
/// </remarks>
internal sealed class RawWebSocketClient : IDisposable
{
    /// <summary>The bound on one write, and on one read unless the connection was opened with another.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    // RFC 6455 §1.3: the key is concatenated with this GUID, hashed with SHA-1 and base64-encoded into Sec-WebSocket-Accept.
    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    private const int MaxResponseHead = 64 * 1024;

    // Far above anything the servers under test accept; a larger declared length is a parsing bug, not a frame to buffer.
    private const int MaxFrameLength = 64 * 1024 * 1024;

    private readonly Socket _socket;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;
    private bool _extensionNegotiated;

    private RawWebSocketClient(Socket socket, TimeSpan readTimeout)
    {
        _socket = socket;
        ReadTimeout = readTimeout;
    }

    /// <summary>
    /// How long a read (a frame, a response head, the server's TCP close) may wait when the call does not say; it also
    /// bounds connecting and the opening handshake together.
    /// </summary>
    public TimeSpan ReadTimeout { get; }

    /// <summary>The last HTTP response head read (status line and header lines, without the blank line), or empty.</summary>
    public string ResponseHead { get; private set; } = string.Empty;

    /// <summary>Connects to 127.0.0.1 on the port of <paramref name="server"/> and sends nothing.</summary>
    /// <param name="server">The server's address; only its port is used.</param>
    /// <param name="socketBufferSize">When set, the socket's own send and receive buffers (set before connecting, so the
    /// receive window is negotiated from it): a flood then meets backpressure sooner, whatever the kernel's defaults.</param>
    /// <param name="readTimeout">The connection's <see cref="ReadTimeout"/>; <see cref="DefaultTimeout"/> when not given.</param>
    public static async Task<RawWebSocketClient> ConnectTcpAsync(Uri server, int? socketBufferSize = null, TimeSpan? readTimeout = null)
    {
        TimeSpan timeout = readTimeout ?? DefaultTimeout;
        using CancellationTokenSource cts = Bound(timeout);
        return await ConnectSocketAsync(server, socketBufferSize, timeout, cts.Token);
    }

    /// <summary>
    /// Connects and completes the RFC 6455 §4.1 opening handshake for <paramref name="path"/> with a fresh random key,
    /// requiring a 101 whose Sec-WebSocket-Accept matches the key. The response is kept in <see cref="ResponseHead"/>.
    /// </summary>
    /// <param name="server">The server's address; its port is connected to and its authority sent as Host.</param>
    /// <param name="path">The request target.</param>
    /// <param name="headers">Header lines to send after the standard ones, e.g. a Sec-WebSocket-Extensions offer.</param>
    /// <param name="socketBufferSize">As for <see cref="ConnectTcpAsync"/>.</param>
    /// <param name="readTimeout">As for <see cref="ConnectTcpAsync"/>; connecting and the handshake share one such bound.</param>
    public static async Task<RawWebSocketClient> ConnectAsync(
        Uri server,
        string path,
        (string Name, string Value)[]? headers = null,
        int? socketBufferSize = null,
        TimeSpan? readTimeout = null)
    {
        TimeSpan timeout = readTimeout ?? DefaultTimeout;
        using CancellationTokenSource cts = Bound(timeout);
        RawWebSocketClient client = await ConnectSocketAsync(server, socketBufferSize, timeout, cts.Token);
        try
        {
            string key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
            var request = new StringBuilder()
                .Append($"GET {path} HTTP/1.1\r\nHost: {server.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
                .Append($"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n");
            foreach ((string name, string value) in headers ?? [])
            {
                request.Append($"{name}: {value}\r\n");
            }

            request.Append("\r\n");
            await client.SendCoreAsync(Encoding.ASCII.GetBytes(request.ToString()), chunkSize: 0, cts.Token);
            string head = await client.ReadResponseHeadCoreAsync(cts.Token);
            Assert.StartsWith("HTTP/1.1 101", head, StringComparison.Ordinal);
            string expectedAccept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + AcceptGuid)));
            Assert.Equal(expectedAccept, HeaderValues(head, "Sec-WebSocket-Accept").SingleOrDefault());
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private static async Task<RawWebSocketClient> ConnectSocketAsync(Uri server, int? socketBufferSize, TimeSpan readTimeout, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var client = new RawWebSocketClient(socket, readTimeout);
        try
        {
            if (socketBufferSize is int size)
            {
                socket.SendBufferSize = size;
                socket.ReceiveBufferSize = size;
            }

            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Port), cancellationToken);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads up to the end of an HTTP response head and returns it (bytes after it stay buffered for frames). It is also
    /// kept in <see cref="ResponseHead"/>, and decides whether an extension was negotiated (see <see cref="ReadFrameAsync"/>).
    /// </summary>
    public async Task<string> ReadResponseHeadAsync(TimeSpan? timeout = null)
    {
        using CancellationTokenSource cts = Bound(timeout ?? ReadTimeout);
        return await ReadResponseHeadCoreAsync(cts.Token);
    }

    private async Task<string> ReadResponseHeadCoreAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            int end = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                string head = Encoding.ASCII.GetString(_buffer, _start, end);
                _start += end + 4;
                ResponseHead = head;
                _extensionNegotiated = HeaderValues(head, "Sec-WebSocket-Extensions").Any();
                return head;
            }

            Assert.True(_end - _start < MaxResponseHead, "The response head is over 64 KiB.");
            Assert.True(await FillAsync(cancellationToken), "The server closed the connection before a complete response head.");
        }
    }

    /// <summary>The values of every line of header <paramref name="name"/> in a response head.</summary>
    private static IEnumerable<string> HeaderValues(string head, string name) => head.Split("\r\n")
        .Skip(1)
        .Select(line => line.Split(':', 2))
        .Where(parts => parts.Length == 2 && parts[0].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
        .Select(parts => parts[1].Trim());

    /// <summary>
    /// Writes raw bytes; in pieces of <paramref name="chunkSize"/> bytes, each written on its own, when given. Bounded by
    /// <paramref name="timeout"/> (<see cref="DefaultTimeout"/> when not given), <paramref name="cancellationToken"/>
    /// and the test's cancellation.
    /// </summary>
    public async Task SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default, int chunkSize = 0, TimeSpan? timeout = null)
    {
        using CancellationTokenSource cts = Bound(timeout ?? DefaultTimeout, cancellationToken);
        await SendCoreAsync(bytes, chunkSize, cts.Token);
    }

    private async Task SendCoreAsync(ReadOnlyMemory<byte> bytes, int chunkSize, CancellationToken cancellationToken)
    {
        int piece = chunkSize > 0 ? chunkSize : bytes.Length;
        while (!bytes.IsEmpty)
        {
            ReadOnlyMemory<byte> chunk = bytes[..Math.Min(piece, bytes.Length)];
            bytes = bytes[chunk.Length..];
            while (!chunk.IsEmpty)
            {
                int sent = await _socket.SendAsync(chunk, SocketFlags.None, cancellationToken);
                chunk = chunk[sent..];
            }
        }
    }

    /// <summary>
    /// Writes raw bytes the server is expected to reject part-way: if it fails the connection and stops reading,
    /// the write error is expected, and what the server sent back is what the test checks.
    /// </summary>
    public async Task SendExpectingFailureAsync(byte[] bytes)
    {
        try
        {
            await SendAsync(bytes);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
            // The server failed the connection before reading everything; its close frame decides the test.
        }
    }

    public Task SendFrameAsync(byte opcode, byte[] payload, bool fin = true, int rsv = 0) =>
        SendAsync(Frames.Build(opcode, payload, fin, rsv));

    /// <summary>
    /// Reads one frame. Throws <see cref="OperationCanceledException"/> if none arrives within <paramref name="timeout"/>
    /// (<see cref="ReadTimeout"/> when not given), so a test can also assert that nothing arrives. Fails the test if the
    /// server masked the frame (RFC 6455 §5.1) or set RSV bits on a connection whose handshake agreed no extension (§5.2).
    /// </summary>
    public async Task<Frame> ReadFrameAsync(TimeSpan? timeout = null)
    {
        TimeSpan bound = timeout ?? ReadTimeout;
        using CancellationTokenSource cts = Bound(bound);
        try
        {
            await EnsureAsync(2, cts.Token);
            byte b0 = _buffer[_start];
            byte b1 = _buffer[_start + 1];
            bool masked = (b1 & 0x80) != 0;
            int lengthBytes = (b1 & 0x7F) switch { 126 => 2, 127 => 8, _ => 0 };
            int headerLength = 2 + lengthBytes + (masked ? 4 : 0);
            await EnsureAsync(headerLength, cts.Token);
            ulong length = lengthBytes switch
            {
                2 => BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(_start + 2)),
                8 => BinaryPrimitives.ReadUInt64BigEndian(_buffer.AsSpan(_start + 2)),
                _ => (ulong)(b1 & 0x7F),
            };
            Assert.True(length <= MaxFrameLength, $"The server declared a {length}-byte frame.");
            await EnsureAsync(headerLength + (int)length, cts.Token);
            byte[] payload = _buffer.AsSpan(_start + headerLength, (int)length).ToArray();
            if (masked)
            {
                ReadOnlySpan<byte> key = _buffer.AsSpan(_start + 2 + lengthBytes, 4);
                for (int i = 0; i < payload.Length; i++)
                {
                    payload[i] ^= key[i & 3];
                }
            }

            _start += headerLength + (int)length;
            var frame = new Frame((b0 & 0x80) != 0, (b0 >> 4) & 7, (byte)(b0 & 0xF), masked, payload);

            // RFC 6455 §5.1: "A server MUST NOT mask any frames that it sends to the client."
            Assert.False(frame.Masked, $"The server sent a masked frame ({frame}).");

            // RFC 6455 §5.2: RSV1-3 "MUST be 0 unless an extension is negotiated that defines meanings for non-zero values".
            Assert.True(frame.Rsv == 0 || _extensionNegotiated, $"The server set RSV bits without an extension ({frame}).");
            return frame;
        }
        catch (OperationCanceledException e) when (cts.IsCancellationRequested && !TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException($"No frame arrived within {bound.TotalSeconds} s.", e, cts.Token);
        }
    }

    /// <summary>Reads one whole data message (reassembling continuation frames); control frames in between fail the test.</summary>
    public async Task<(byte Opcode, byte[] Payload)> ReadMessageAsync(TimeSpan? timeout = null)
    {
        Frame first = await ReadFrameAsync(timeout);
        Assert.True(first.Opcode is Opcode.Text or Opcode.Binary, $"Expected a data message, got {first}.");
        if (first.Fin)
        {
            return (first.Opcode, first.Payload);
        }

        using var message = new MemoryStream();
        message.Write(first.Payload);
        while (true)
        {
            Frame next = await ReadFrameAsync(timeout);
            Assert.True(next.Opcode == Opcode.Continuation, $"Expected a continuation frame, got {next}.");
            message.Write(next.Payload);
            if (next.Fin)
            {
                return (first.Opcode, message.ToArray());
            }
        }
    }

    /// <summary>
    /// Reads frames until a close frame, skipping any others, and returns its status code (null for an empty payload).
    /// Does not answer the close. <paramref name="timeout"/> bounds each frame, as in <see cref="ReadFrameAsync"/>.
    /// </summary>
    public async Task<int?> ReadUntilCloseAsync(TimeSpan? timeout = null)
    {
        for (int frames = 0; frames < 1_000_000; frames++)
        {
            Frame frame = await ReadFrameAsync(timeout);
            if (frame.Opcode == Opcode.Close)
            {
                return frame.CloseCode;
            }
        }

        Assert.Fail("No close frame within a million frames.");
        return null;
    }

    /// <summary>
    /// Client-initiated close: sends a close frame with <paramref name="payload"/>, then the server's next frame must be
    /// its close frame, after which the server must close the TCP connection. Returns the server's close frame.
    /// </summary>
    public async Task<Frame> CloseAsync(byte[] payload)
    {
        await SendAsync(Frames.Build(Opcode.Close, payload));
        return await ReadCloseFrameAsync(reply: false);
    }

    /// <summary>Clean client-initiated close with 1000; asserts the server answers 1000.</summary>
    public async Task CloseNormallyAsync()
    {
        Frame close = await CloseAsync(Frames.ClosePayload(1000));
        Assert.Equal(1000, close.CloseCode);
    }

    /// <summary>
    /// The server's next frame must be a close frame (the server failing the connection); returns its code (null for
    /// an empty payload). Then completes the close handshake from our side and checks the server closes the TCP
    /// connection. Unlike <see cref="ReadUntilCloseAsync"/>, any other frame first fails the test.
    /// </summary>
    public async Task<int?> ReadCloseAsync() => (await ReadCloseFrameAsync(reply: true)).CloseCode;

    private async Task<Frame> ReadCloseFrameAsync(bool reply)
    {
        Frame close = await ReadFrameAsync();
        Assert.True(close.Opcode == Opcode.Close, $"Expected a close frame, got {close}.");

        // RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less".
        Assert.True(close.Payload.Length != 1 && close.Payload.Length <= 125, $"Malformed close frame from the server: {close}.");
        try
        {
            if (reply)
            {
                // A close frame of at most 125 bytes: bounded like a read, not like a bulk write.
                await SendAsync(close.CloseCode is int code ? Frames.Close((ushort)code) : Frames.Build(Opcode.Close, []), timeout: ReadTimeout);
            }
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            // The server may already have closed the TCP connection after failing it (RFC 6455 §7.1.7).
        }

        await ExpectTcpClosedAsync();
        return close;
    }

    /// <summary>RFC 6455 §7.1.1: after the close handshake the server closes the TCP connection; nothing else may arrive.</summary>
    private async Task ExpectTcpClosedAsync()
    {
        using CancellationTokenSource cts = Bound(ReadTimeout);
        Assert.True(_end == _start, $"The server sent {_end - _start} more bytes after its close frame.");
        try
        {
            _start = _end = 0;
            bool more = await FillAsync(cts.Token);
            Assert.False(more, $"The server sent {_end} more bytes after its close frame.");
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            // A reset also means the server closed the connection.
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested && !TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            Assert.Fail($"The server did not close the TCP connection within {ReadTimeout.TotalSeconds} s of the close handshake.");
        }
    }

    /// <summary>
    /// Waits until the server ends the TCP connection (FIN or reset), discarding anything it still sends; true if it
    /// did within <paramref name="timeout"/>.
    /// </summary>
    public async Task<bool> WaitForServerCloseAsync(TimeSpan timeout)
    {
        using CancellationTokenSource cts = Bound(timeout);
        try
        {
            while (true)
            {
                _start = _end = 0;
                if (!await FillAsync(cts.Token))
                {
                    return true;
                }
            }
        }
        catch (SocketException)
        {
            return true; // reset by the server
        }
        catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Ends the connection with a TCP RST: SO_LINGER on with a zero timeout, then close.</summary>
    public void Reset()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Close();
    }

    /// <summary>Half-closes: sends a FIN (end of stream) while still able to read.</summary>
    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    public void Dispose() => _socket.Dispose();

    /// <summary>A token source for one operation: cancelled after <paramref name="timeout"/>, by <paramref name="cancellationToken"/>, or with the test.</summary>
    private static CancellationTokenSource Bound(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, TestContext.Current.CancellationToken);
        cts.CancelAfter(timeout);
        return cts;
    }

    private async Task EnsureAsync(int count, CancellationToken cancellationToken)
    {
        while (_end - _start < count)
        {
            Assert.True(await FillAsync(cancellationToken), $"The server closed the connection (needed {count} bytes, had {_end - _start}).");
        }
    }

    /// <summary>
    /// Reads more bytes after the unread ones, first moving those to the front of the buffer and doubling the buffer if
    /// it is still full (a frame is buffered whole before it is consumed); false at end of stream.
    /// </summary>
    private async Task<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }

        int read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken);
        _end += read;
        return read > 0;
    }
}
