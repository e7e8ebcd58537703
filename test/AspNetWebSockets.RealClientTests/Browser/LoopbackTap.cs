using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace AspNetWebSockets.RealClientTests;

/// <summary>
/// A loopback TCP relay in front of the app that keeps a copy of every byte in both directions, so a test can see
/// frames no client API exposes — the server's keep-alive pings and the browser's pongs. The page is loaded through
/// the relay too, so its WebSocket stays same-origin.
/// </summary>
internal sealed class LoopbackTap : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<TappedConnection> _connections = new();
    private readonly ConcurrentBag<Socket> _sockets = [];
    private readonly Task _accepting;

    public LoopbackTap(Uri target)
    {
        _targetPort = target.Port;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The relay's http:// address.</summary>
    public Uri HttpAddress => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

    /// <summary>Connections relayed so far.</summary>
    public IReadOnlyList<TappedConnection> Connections => _connections.ToArray();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        foreach (Socket socket in _sockets)
        {
            socket.Dispose();
        }

        try
        {
            await _accepting;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client = await _listener.AcceptSocketAsync(_stop.Token);
            _sockets.Add(client);
            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(Socket client)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _sockets.Add(server);
        client.NoDelay = true;
        try
        {
            await server.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _targetPort), _stop.Token);
            var tapped = new TappedConnection();
            _connections.Enqueue(tapped);
            await Task.WhenAll(PumpAsync(client, server, tapped.FromClient), PumpAsync(server, client, tapped.FromServer));
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The relay was stopped or a side reset; the other side is closed below.
        }
        finally
        {
            client.Dispose();
            server.Dispose();
        }
    }

    private async Task PumpAsync(Socket from, Socket to, Capture capture)
    {
        byte[] buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                int read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                capture.Append(buffer.AsSpan(0, read));
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // A reset on one side becomes a reset on the other, as without the relay.
            from.Dispose();
            to.Dispose();
        }
    }
}

/// <summary>The bytes of one relayed TCP connection.</summary>
internal sealed class TappedConnection
{
    public Capture FromClient { get; } = new();

    public Capture FromServer { get; } = new();

    /// <summary>True when this connection carried a WebSocket upgrade that the server accepted.</summary>
    public bool IsWebSocket => FromServer.Snapshot().AsSpan().StartsWith("HTTP/1.1 101"u8);
}

/// <summary>A growing copy of what one side sent.</summary>
internal sealed class Capture
{
    private readonly MemoryStream _bytes = new();

    public void Append(ReadOnlySpan<byte> data)
    {
        lock (_bytes)
        {
            _bytes.Write(data);
        }
    }

    public byte[] Snapshot()
    {
        lock (_bytes)
        {
            return _bytes.ToArray();
        }
    }

    /// <summary>
    /// The complete WebSocket frames after the HTTP head (request or 101 response), in order. Client frames are
    /// masked, server frames are not; the frame header tells which.
    /// </summary>
    public IReadOnlyList<WireFrame> Frames()
    {
        byte[] bytes = Snapshot();
        int offset = bytes.AsSpan().IndexOf("\r\n\r\n"u8);
        var frames = new List<WireFrame>();
        if (offset < 0)
        {
            return frames;
        }

        offset += 4;
        while (bytes.Length - offset >= 2)
        {
            byte first = bytes[offset];
            bool masked = (bytes[offset + 1] & 0x80) != 0;
            long length = bytes[offset + 1] & 0x7F;
            int header = 2;
            if (length == 126)
            {
                if (bytes.Length - offset < 4)
                {
                    break;
                }

                length = BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(offset + 2, 2));
                header = 4;
            }
            else if (length == 127)
            {
                if (bytes.Length - offset < 10)
                {
                    break;
                }

                length = (long)BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(offset + 2, 8));
                header = 10;
            }

            long total = header + (masked ? 4 : 0) + length;
            if (bytes.Length - offset < total)
            {
                break; // the rest has not arrived yet
            }

            frames.Add(new WireFrame(first & 0x0F, Fin: (first & 0x80) != 0, Rsv1: (first & 0x40) != 0, length));
            offset += (int)total;
        }

        return frames;
    }
}

/// <summary>One frame as it crossed the wire.</summary>
/// <param name="Opcode">0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong.</param>
/// <param name="Fin">The final-fragment bit.</param>
/// <param name="Rsv1">RSV1: the message is compressed (permessage-deflate).</param>
/// <param name="PayloadLength">Payload bytes on the wire.</param>
internal readonly record struct WireFrame(int Opcode, bool Fin, bool Rsv1, long PayloadLength)
{
    public const int Text = 0x1;
    public const int Binary = 0x2;
    public const int Ping = 0x9;
    public const int Pong = 0xA;
}
