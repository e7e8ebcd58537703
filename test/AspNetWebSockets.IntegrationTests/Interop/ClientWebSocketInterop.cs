using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace AspNetWebSockets.IntegrationTests.Interop;

/// <summary>One message as <see cref="ClientWebSocket"/> delivered it, or the close it reported instead.</summary>
/// <param name="Type">Text, Binary, or Close.</param>
/// <param name="Data">The reassembled payload (empty for a close).</param>
/// <param name="Receives">How many <c>ReceiveAsync</c> calls it took (at least the number of frames).</param>
/// <param name="CloseStatus">The peer's close code, for a close.</param>
/// <param name="CloseDescription">The peer's close reason, for a close.</param>
public sealed record ClientMessage(WebSocketMessageType Type, byte[] Data, int Receives, WebSocketCloseStatus? CloseStatus, string? CloseDescription)
{
    public string Text => Encoding.UTF8.GetString(Data);
}

/// <summary>Shared plumbing for the interop tests: modes, time bounds, and a <see cref="ClientWebSocket"/> that talks to a <see cref="TestApp"/>.</summary>
public static class ClientWebSocketInterop
{
    /// <summary>Both real-socket modes: ClientWebSocket needs a TCP endpoint.</summary>
    public static TheoryData<TransportMode> KestrelModes => new(TransportMode.KestrelPipes, TransportMode.KestrelStream);

    /// <summary>A token that fires after <paramref name="seconds"/> or when the test is cancelled; no await may hang a test.</summary>
    public static CancellationTokenSource Bound(double seconds = 10)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(seconds));
        return cts;
    }

    /// <summary>Connects a <see cref="ClientWebSocket"/> with its own keep-alive off, so every ping on the wire is the server's.</summary>
    public static async Task<ClientWebSocket> ConnectAsync(TestApp app, string path, Action<ClientWebSocketOptions>? configure = null)
    {
        var client = new ClientWebSocket();
        client.Options.KeepAliveInterval = TimeSpan.Zero;
        configure?.Invoke(client.Options);
        using CancellationTokenSource bound = Bound();
        try
        {
            await client.ConnectAsync(new Uri(app.WebSocketAddress, path), bound.Token);
        }
        catch
        {
            client.Dispose();
            throw;
        }

        return client;
    }

    /// <summary>Receives one whole message (or the close) with ClientWebSocket, reassembling its fragments.</summary>
    public static async Task<ClientMessage> ReceiveMessageAsync(this ClientWebSocket client, CancellationToken cancellationToken, int maxBytes = 4 * 1024 * 1024)
    {
        byte[] buffer = new byte[64 * 1024];
        using var data = new MemoryStream();
        int receives = 0;
        while (true)
        {
            WebSocketReceiveResult result = await client.ReceiveAsync(buffer, cancellationToken);
            receives++;
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return new ClientMessage(WebSocketMessageType.Close, [], receives, result.CloseStatus, result.CloseStatusDescription);
            }

            data.Write(buffer, 0, result.Count);
            Assert.True(data.Length <= maxBytes, $"message exceeds {maxBytes} bytes");
            if (result.EndOfMessage)
            {
                return new ClientMessage(result.MessageType, data.ToArray(), receives, null, null);
            }
        }
    }

    /// <summary>base64(SHA-1(key + RFC 6455 GUID)), computed here independently of the library.</summary>
    public static string ExpectedAccept(string key) =>
        Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));

    /// <summary>
    /// Opens a raw TCP connection to the app and performs a valid opening handshake by hand, checking the 101 and
    /// the accept value. Nothing is read from the socket after that unless the caller chooses to.
    /// </summary>
    public static async Task<Socket> RawHandshakeAsync(TestApp app, string path, CancellationToken cancellationToken)
    {
        Uri address = app.HttpAddress;
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, address.Port), cancellationToken);
            string key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
            string request =
                $"GET {path} HTTP/1.1\r\n" +
                $"Host: 127.0.0.1:{address.Port}\r\n" +
                "Upgrade: websocket\r\n" +
                "Connection: Upgrade\r\n" +
                $"Sec-WebSocket-Key: {key}\r\n" +
                "Sec-WebSocket-Version: 13\r\n" +
                "\r\n";
            await socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None, cancellationToken);

            // Read the response head one byte at a time so not a single frame byte after it is consumed.
            var head = new StringBuilder();
            byte[] one = new byte[1];
            while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                Assert.True(head.Length < 16 * 1024, "response head too long");
                int read = await socket.ReceiveAsync(one, SocketFlags.None, cancellationToken);
                Assert.True(read == 1, "connection closed during the handshake");
                head.Append((char)one[0]);
            }

            string[] lines = head.ToString().Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            Assert.StartsWith("HTTP/1.1 101", lines[0], StringComparison.Ordinal);
            string? accept = lines.Skip(1)
                .Select(line => line.Split(':', 2))
                .Where(parts => parts.Length == 2 && parts[0].Trim().Equals("Sec-WebSocket-Accept", StringComparison.OrdinalIgnoreCase))
                .Select(parts => parts[1].Trim())
                .SingleOrDefault();
            Assert.Equal(ExpectedAccept(key), accept);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
