using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace AspNetWebSockets.Testing;

/// <summary>A WebSocket client over TCP (<c>ws://</c>, <c>wss://</c>) on the same protocol core as the server, in the client role.</summary>
public static class WebSocketTestClient
{
    private const int MaxResponseHeadSize = 16 * 1024;

    /// <summary>Connects and performs the opening handshake.</summary>
    /// <param name="uri">A <c>ws://</c> or <c>wss://</c> URL.</param>
    /// <param name="configure">Client options.</param>
    /// <param name="cancellationToken">Cancels the connect and handshake.</param>
    /// <returns>An open client connection.</returns>
    /// <exception cref="WebSocketHandshakeException">The server refused the upgrade.</exception>
    public static async Task<WebSocketConnection> ConnectAsync(Uri uri, Action<WebSocketClientOptions>? configure = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        bool secure = uri.Scheme switch
        {
            "ws" => false,
            "wss" => true,
            _ => throw new ArgumentException("The URL scheme must be ws or wss.", nameof(uri)),
        };

        var options = new WebSocketClientOptions();
        configure?.Invoke(options);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.HandshakeTimeout);

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? stream = null;
        try
        {
            await socket.ConnectAsync(uri.Host, uri.Port, timeout.Token).ConfigureAwait(false);
            stream = new NetworkStream(socket, ownsSocket: true);
            if (secure)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false, options.RemoteCertificateValidation);
                stream = ssl;
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = uri.IdnHost }, timeout.Token).ConfigureAwait(false);
            }

            string key = ClientHandshake.CreateKey();
            await WriteRequestAsync(stream, uri, key, options, timeout.Token).ConfigureAwait(false);
            (int status, IHeaderDictionary headers) = await ReadResponseHeadAsync(stream, timeout.Token).ConfigureAwait(false);
            string? subProtocol = ClientHandshake.ValidateResponse(status, headers, key, options);
            return ClientHandshake.CreateConnection(stream, subProtocol, options);
        }
        catch
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                socket.Dispose();
            }

            throw;
        }
    }

    private static async Task WriteRequestAsync(Stream output, Uri uri, string key, WebSocketClientOptions options, CancellationToken cancellationToken)
    {
        IHeaderDictionary headers = new HeaderDictionary();
        headers.Host = uri.IsDefaultPort ? uri.IdnHost : $"{uri.IdnHost}:{uri.Port}";
        ClientHandshake.AddRequestHeaders(headers, key, options);
        var request = new StringBuilder();
        request.Append("GET ").Append(uri.PathAndQuery).Append(" HTTP/1.1\r\n");
        foreach (KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues> header in headers)
        {
            foreach (string? value in header.Value)
            {
                request.Append(header.Key).Append(": ").Append(value).Append("\r\n");
            }
        }

        request.Append("\r\n");
        await output.WriteAsync(Encoding.ASCII.GetBytes(request.ToString()), cancellationToken).ConfigureAwait(false);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the status line and headers (bounded) a byte at a time, so that no byte after them is consumed: the server
    /// may send its first frames right behind the 101, and those belong to the connection that takes over the stream.
    /// A handshake response is a few hundred bytes, read once per connection.
    /// </summary>
    private static async Task<(int Status, IHeaderDictionary Headers)> ReadResponseHeadAsync(Stream input, CancellationToken cancellationToken)
    {
        byte[] head = new byte[MaxResponseHeadSize];
        int length = 0;
        while (length < 4 || !head.AsSpan(length - 4, 4).SequenceEqual("\r\n\r\n"u8))
        {
            if (length == head.Length)
            {
                throw new WebSocketHandshakeException(0, new HeaderDictionary(), "The handshake response head is too large.");
            }

            if (await input.ReadAsync(head.AsMemory(length, 1), cancellationToken).ConfigureAwait(false) == 0)
            {
                throw new WebSocketHandshakeException(0, new HeaderDictionary(), "The server closed the connection during the handshake.");
            }

            length++;
        }

        return ParseHead(Encoding.ASCII.GetString(head, 0, length - 4));
    }

    private static (int Status, IHeaderDictionary Headers) ParseHead(string head)
    {
        string[] lines = head.Split("\r\n");
        string[] statusLine = lines[0].Split(' ', 3);
        if (statusLine.Length < 2 || !statusLine[0].StartsWith("HTTP/1.", StringComparison.Ordinal) || !int.TryParse(statusLine[1], out int status))
        {
            throw new WebSocketHandshakeException(0, new HeaderDictionary(), $"Malformed status line '{lines[0]}'.");
        }

        var headers = new HeaderDictionary();
        foreach (string line in lines.AsSpan(1))
        {
            int colon = line.IndexOf(':');
            if (colon <= 0)
            {
                throw new WebSocketHandshakeException(status, headers, $"Malformed header line '{line}'.");
            }

            string name = line[..colon].Trim();
            headers.Append(name, line[(colon + 1)..].Trim());
        }

        return (status, headers);
    }
}
