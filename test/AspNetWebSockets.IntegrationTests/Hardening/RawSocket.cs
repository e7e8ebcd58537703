using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using AspNetWebSockets.IntegrationTests.Hosting;

namespace AspNetWebSockets.IntegrationTests.Hardening;

/// <summary>
/// A hostile WebSocket peer over raw TCP: writes whatever bytes a test wants (partial frames, floods), reads the
/// server's frames one by one, and can end the connection with a TCP reset instead of a FIN.
/// </summary>
internal sealed class RawSocket : IDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private RawSocket(Socket socket) => _socket = socket;

    /// <summary>Connects to 127.0.0.1 on the port of <paramref name="server"/> without sending anything.</summary>
    /// <param name="server">The server's address (only its port is used).</param>
    /// <param name="socketBufferSize">When set, the socket's own send and receive buffers (set before connecting, so the
    /// receive window is negotiated from it): a flood then meets backpressure sooner, whatever the kernel's defaults.</param>
    public static async Task<RawSocket> ConnectTcpAsync(Uri server, int? socketBufferSize = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (socketBufferSize is int size)
        {
            socket.SendBufferSize = size;
            socket.ReceiveBufferSize = size;
        }

        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Port), TestContext.Current.CancellationToken);
        return new RawSocket(socket);
    }

    /// <summary>Connects and completes an RFC 6455 handshake for <paramref name="path"/>, checking the 101.</summary>
    public static async Task<RawSocket> ConnectAsync(Uri server, string path = "/ws", int? socketBufferSize = null) =>
        (await ConnectAsync(server, RawRequest.Upgrade(server, path), socketBufferSize)).Socket;

    /// <summary>Connects, sends <paramref name="request"/>, checks for 101 and returns the socket with the response head.</summary>
    public static async Task<(RawSocket Socket, string Head)> ConnectAsync(Uri server, RawRequest request, int? socketBufferSize = null)
    {
        RawSocket raw = await ConnectTcpAsync(server, socketBufferSize);
        await raw.SendAsync(request.ToBytes(), TestContext.Current.CancellationToken);
        string head = await raw.ReadHeadAsync();
        Assert.StartsWith("HTTP/1.1 101", head, StringComparison.Ordinal);
        return (raw, head);
    }

    /// <summary>A masked client frame (RFC 6455 §5.2) with a fixed key, so payloads are cheap to build in floods.</summary>
    public static byte[] Frame(byte opcode, ReadOnlySpan<byte> payload, bool fin = true, bool rsv1 = false)
    {
        int lengthBytes = payload.Length < 126 ? 0 : payload.Length <= ushort.MaxValue ? 2 : 8;
        byte[] frame = new byte[2 + lengthBytes + 4 + payload.Length];
        frame[0] = (byte)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode);
        switch (lengthBytes)
        {
            case 0:
                frame[1] = (byte)(0x80 | payload.Length);
                break;
            case 2:
                frame[1] = 0x80 | 126;
                BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)payload.Length);
                break;
            default:
                frame[1] = 0x80 | 127;
                BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(2), (ulong)payload.Length);
                break;
        }

        int maskAt = 2 + lengthBytes;
        ReadOnlySpan<byte> key = [0x37, 0xfa, 0x21, 0x3d];
        key.CopyTo(frame.AsSpan(maskAt));
        for (int i = 0; i < payload.Length; i++)
        {
            frame[maskAt + 4 + i] = (byte)(payload[i] ^ key[i & 3]);
        }

        return frame;
    }

    /// <summary>A close frame with a status code.</summary>
    public static byte[] Close(ushort code)
    {
        byte[] payload = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(payload, code);
        return Frame(0x8, payload);
    }

    public async Task SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, TestContext.Current.CancellationToken);
        while (!bytes.IsEmpty)
        {
            int sent = await _socket.SendAsync(bytes, SocketFlags.None, linked.Token);
            bytes = bytes[sent..];
        }
    }

    /// <summary>Reads up to the end of an HTTP response head and returns it (bytes after it stay buffered for frames).</summary>
    public async Task<string> ReadHeadAsync(TimeSpan? timeout = null)
    {
        using var cts = Timeout(timeout);
        while (true)
        {
            int end = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                string head = Encoding.ASCII.GetString(_buffer, _start, end);
                _start += end + 4;
                return head;
            }

            Assert.True(await FillAsync(cts.Token), "The server closed the connection before a complete response head.");
        }
    }

    /// <summary>Reads one server frame: opcode and payload (servers never mask).</summary>
    public async Task<(byte Opcode, byte[] Payload)> ReadFrameAsync(TimeSpan? timeout = null)
    {
        using var cts = Timeout(timeout);
        await EnsureAsync(2, cts.Token);
        byte opcode = (byte)(_buffer[_start] & 0x0f);
        int length = _buffer[_start + 1] & 0x7f;
        int header = 2;
        if (length == 126)
        {
            await EnsureAsync(4, cts.Token);
            length = BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(_start + 2));
            header = 4;
        }
        else if (length == 127)
        {
            await EnsureAsync(10, cts.Token);
            length = checked((int)BinaryPrimitives.ReadUInt64BigEndian(_buffer.AsSpan(_start + 2)));
            header = 10;
        }

        Assert.True(header + length <= _buffer.Length, "Frame larger than the test reader's buffer.");
        await EnsureAsync(header + length, cts.Token);
        byte[] payload = _buffer.AsSpan(_start + header, length).ToArray();
        _start += header + length;
        return (opcode, payload);
    }

    /// <summary>Reads frames until a close frame and returns its status code (null for an empty close).</summary>
    public async Task<int?> ReadCloseCodeAsync(TimeSpan? timeout = null)
    {
        for (int frames = 0; frames < 1_000_000; frames++)
        {
            (byte opcode, byte[] payload) = await ReadFrameAsync(timeout);
            if (opcode == 0x8)
            {
                return payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(payload) : null;
            }
        }

        Assert.Fail("No close frame within a million frames.");
        return null;
    }

    /// <summary>
    /// Waits until the server ends the TCP connection (FIN or reset), discarding anything it still sends; true if it
    /// did within <paramref name="timeout"/>.
    /// </summary>
    public async Task<bool> WaitForServerCloseAsync(TimeSpan timeout)
    {
        using var cts = Timeout(timeout);
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

    private static CancellationTokenSource Timeout(TimeSpan? timeout)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(timeout ?? TimeSpan.FromSeconds(30));
        return cts;
    }

    private async Task EnsureAsync(int count, CancellationToken cancellationToken)
    {
        while (_end - _start < count)
        {
            Assert.True(await FillAsync(cancellationToken), "The server closed the connection mid-frame.");
        }
    }

    private async Task<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        int read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken);
        _end += read;
        return read > 0;
    }
}
