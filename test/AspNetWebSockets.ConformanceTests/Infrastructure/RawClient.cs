using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace AspNetWebSockets.ConformanceTests.Infrastructure;

/// <summary>
/// A protocol-level WebSocket client over a plain TCP socket: it does the opening handshake by hand, writes whatever
/// bytes a test builds, and parses the server's frames with its own small parser. Every read and write is bounded by
/// a timeout, so a server that hangs fails the test instead of stalling it.
/// </summary>
public sealed class RawClient : IAsyncDisposable
{
    /// <summary>How long one frame may take to arrive.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    private const string Guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    private readonly TcpClient _tcp;
    private NetworkStream _stream = null!;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private RawClient(TcpClient tcp)
    {
        _tcp = tcp;
    }

    /// <summary>Connects to <paramref name="server"/> and completes the RFC 6455 §4.1 opening handshake on <paramref name="path"/>.</summary>
    public static async Task<RawClient> ConnectAsync(EchoServer server, string path = EchoServer.EchoPath)
    {
        var tcp = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        var client = new RawClient(tcp);
        try
        {
            using CancellationTokenSource timeout = Timeout(DefaultTimeout);
            await tcp.ConnectAsync(IPAddress.Loopback, server.Port, timeout.Token);
            client._stream = tcp.GetStream();
            string key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
            string request =
                $"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.Port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n";
            await client._stream.WriteAsync(Encoding.ASCII.GetBytes(request), timeout.Token);
            string head = await client.ReadResponseHeadAsync(timeout.Token);
            string[] lines = head.Split("\r\n");
            Assert.StartsWith("HTTP/1.1 101", lines[0], StringComparison.Ordinal);
            string expectedAccept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + Guid)));
            string? accept = lines.Skip(1)
                .Select(l => l.Split(':', 2))
                .Where(p => p.Length == 2 && p[0].Trim().Equals("Sec-WebSocket-Accept", StringComparison.OrdinalIgnoreCase))
                .Select(p => p[1].Trim())
                .SingleOrDefault();
            Assert.Equal(expectedAccept, accept);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    private async Task<string> ReadResponseHeadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            int end = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                string head = Encoding.ASCII.GetString(_buffer, _start, end);
                _start += end + 4;
                return head;
            }

            Assert.True(_end < _buffer.Length, "The handshake response head is over 64 KiB.");
            Assert.True(await FillAsync(cancellationToken), "The server closed the connection during the handshake.");
        }
    }

    /// <summary>Writes raw bytes, in pieces of <paramref name="chunkSize"/> bytes (each flushed on its own) when given.</summary>
    public async Task SendAsync(byte[] bytes, int chunkSize = 0, TimeSpan? timeout = null)
    {
        using CancellationTokenSource cts = Timeout(timeout ?? TimeSpan.FromSeconds(30));
        if (chunkSize <= 0)
        {
            await _stream.WriteAsync(bytes, cts.Token);
            return;
        }

        for (int offset = 0; offset < bytes.Length; offset += chunkSize)
        {
            await _stream.WriteAsync(bytes.AsMemory(offset, Math.Min(chunkSize, bytes.Length - offset)), cts.Token);
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

    /// <summary>Reads one frame; fails if none arrives within <paramref name="timeout"/> or the server masked it.</summary>
    public async Task<Frame> ReadFrameAsync(TimeSpan? timeout = null)
    {
        using CancellationTokenSource cts = Timeout(timeout ?? DefaultTimeout);
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
            Assert.True(length <= 64 * 1024 * 1024, $"The server declared a {length}-byte frame.");
            byte[] mask = masked ? _buffer.AsSpan(_start + 2 + lengthBytes, 4).ToArray() : [];
            _start += headerLength;
            byte[] payload = new byte[(int)length];
            int copied = 0;
            while (copied < payload.Length)
            {
                if (_end == _start)
                {
                    _start = _end = 0;
                    Assert.True(await FillAsync(cts.Token), $"The server closed the connection mid-frame ({copied} of {length} bytes).");
                }

                int n = Math.Min(payload.Length - copied, _end - _start);
                _buffer.AsSpan(_start, n).CopyTo(payload.AsSpan(copied));
                _start += n;
                copied += n;
            }

            if (masked)
            {
                for (int i = 0; i < payload.Length; i++)
                {
                    payload[i] ^= mask[i & 3];
                }
            }

            var frame = new Frame((b0 & 0x80) != 0, (b0 >> 4) & 7, (byte)(b0 & 0xF), masked, payload);

            // RFC 6455 §5.1: "A server MUST NOT mask any frames that it sends to the client."
            Assert.False(frame.Masked, $"The server sent a masked frame ({frame}).");
            Assert.True(frame.Rsv == 0, $"The server set RSV bits without an extension ({frame}).");
            return frame;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested && !TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            Assert.Fail($"No frame arrived within {(timeout ?? DefaultTimeout).TotalSeconds} s.");
            throw;
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
    /// an empty payload). Then completes the close handshake from our side and checks the server closes the TCP connection.
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
                await SendAsync(close.CloseCode is int code ? Frames.Close((ushort)code) : Frames.Build(Opcode.Close, []), timeout: DefaultTimeout);
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
    public async Task ExpectTcpClosedAsync()
    {
        using CancellationTokenSource cts = Timeout(DefaultTimeout);
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
            Assert.Fail($"The server did not close the TCP connection within {DefaultTimeout.TotalSeconds} s of the close handshake.");
        }
    }

    private async Task EnsureAsync(int count, CancellationToken cancellationToken)
    {
        while (_end - _start < count)
        {
            if (_buffer.Length - _start < count)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            Assert.True(await FillAsync(cancellationToken), $"The server closed the connection (needed {count} bytes, had {_end - _start}).");
        }
    }

    /// <summary>Reads more bytes after <c>_end</c>; false at end of stream.</summary>
    private async Task<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_end == _buffer.Length)
        {
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }

        int read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
        _end += read;
        return read > 0;
    }

    private static CancellationTokenSource Timeout(TimeSpan timeout)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(timeout);
        return cts;
    }

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
