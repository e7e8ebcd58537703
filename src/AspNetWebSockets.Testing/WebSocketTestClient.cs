using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using AspNetWebSockets.Handshake;
using AspNetWebSockets.Transport;
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
        StreamTransport? transport = null;
        try
        {
            await socket.ConnectAsync(uri.Host, uri.Port, timeout.Token).ConfigureAwait(false);
            Stream stream = new NetworkStream(socket, ownsSocket: true);
            if (secure)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false, options.RemoteCertificateValidation);
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = uri.IdnHost }, timeout.Token).ConfigureAwait(false);
                stream = ssl;
            }

            transport = new StreamTransport(stream);
            string key = WebSocketAccept.CreateClientKey();
            await WriteRequestAsync(transport.Output, uri, key, options, timeout.Token).ConfigureAwait(false);
            (int status, IHeaderDictionary headers) = await ReadResponseHeadAsync(transport.Input, timeout.Token).ConfigureAwait(false);
            string? subProtocol = ClientHandshake.ValidateResponse(status, headers, key, options);
            return ClientHandshake.CreateConnection(transport, subProtocol, options);
        }
        catch
        {
            if (transport is not null)
            {
                transport.Abort();
            }
            else
            {
                socket.Dispose();
            }

            throw;
        }
    }

    private static async Task WriteRequestAsync(PipeWriter output, Uri uri, string key, WebSocketClientOptions options, CancellationToken cancellationToken)
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
    }

    /// <summary>Reads the status line and headers (bounded), leaving any bytes after them in the pipe for the frame decoder.</summary>
    private static async Task<(int Status, IHeaderDictionary Headers)> ReadResponseHeadAsync(PipeReader input, CancellationToken cancellationToken)
    {
        while (true)
        {
            ReadResult read = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = read.Buffer;
            var reader = new SequenceReader<byte>(buffer);
            if (reader.TryReadTo(out ReadOnlySequence<byte> head, "\r\n\r\n"u8))
            {
                (int, IHeaderDictionary) parsed = ParseHead(Encoding.ASCII.GetString(head));
                input.AdvanceTo(reader.Position);
                return parsed;
            }

            if (buffer.Length > MaxResponseHeadSize || read.IsCompleted)
            {
                input.AdvanceTo(buffer.Start);
                throw new WebSocketHandshakeException(0, new HeaderDictionary(), read.IsCompleted
                    ? "The server closed the connection during the handshake."
                    : "The handshake response head is too large.");
            }

            input.AdvanceTo(buffer.Start, buffer.End);
        }
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
