using System.Net;
using System.Net.Sockets;

namespace AspNetWebSockets.IntegrationTests.Hosting;

/// <summary>A hand-written HTTP/1.x request, so tests can send what no well-behaved client would.</summary>
internal sealed class RawRequest
{
    /// <summary>The RFC 6455 §1.3 sample key; its accept value is <see cref="SampleAccept"/>.</summary>
    public const string SampleKey = "dGhlIHNhbXBsZSBub25jZQ==";

    /// <summary>Sec-WebSocket-Accept for <see cref="SampleKey"/>, as printed in RFC 6455 §1.3 (not computed by the library).</summary>
    public const string SampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    private readonly List<KeyValuePair<string, string>> _headers = [];

    public string Method { get; set; } = "GET";

    public string Target { get; set; } = "/ws";

    public string Version { get; set; } = "HTTP/1.1";

    public byte[] Body { get; set; } = [];

    public IReadOnlyList<KeyValuePair<string, string>> Headers => _headers;

    /// <summary>A valid RFC 6455 opening handshake for <paramref name="target"/> on <paramref name="server"/>.</summary>
    public static RawRequest Upgrade(Uri server, string target = "/ws") => new RawRequest { Target = target }
        .Add("Host", server.Authority)
        .Add("Upgrade", "websocket")
        .Add("Connection", "Upgrade")
        .Add("Sec-WebSocket-Key", SampleKey)
        .Add("Sec-WebSocket-Version", "13");

    /// <summary>Adds a header line (a second line if the name is already present).</summary>
    public RawRequest Add(string name, string value)
    {
        _headers.Add(new(name, value));
        return this;
    }

    /// <summary>Replaces every line of <paramref name="name"/> with one line.</summary>
    public RawRequest Set(string name, string value) => Remove(name).Add(name, value);

    public RawRequest Remove(string name)
    {
        _headers.RemoveAll(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase));
        return this;
    }

    public byte[] ToBytes()
    {
        var head = new StringBuilder();
        head.Append(Method).Append(' ').Append(Target).Append(' ').Append(Version).Append("\r\n");
        foreach ((string name, string value) in _headers)
        {
            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        head.Append("\r\n");
        return [.. Encoding.ASCII.GetBytes(head.ToString()), .. Body];
    }
}

/// <summary>The status line and headers of a response read off the wire.</summary>
internal sealed record RawResponse(int StatusCode, string StatusLine, IReadOnlyDictionary<string, IReadOnlyList<string>> Headers)
{
    /// <summary>All values of a header (one per line), or none.</summary>
    public IReadOnlyList<string> Values(string name) => Headers.TryGetValue(name, out IReadOnlyList<string>? values) ? values : [];

    /// <summary>The header's values joined with ", ", or null when absent.</summary>
    public string? Header(string name) => Headers.ContainsKey(name) ? string.Join(", ", Values(name)) : null;

    /// <summary>True if a comma-separated element of the header equals <paramref name="token"/>, ignoring case.</summary>
    public bool HasToken(string name, string token) => Values(name)
        .SelectMany(v => v.Split(','))
        .Any(element => string.Equals(element.Trim(), token, StringComparison.OrdinalIgnoreCase));
}

/// <summary>Sends one raw request to a Kestrel test server over TCP and reads the response head.</summary>
internal static class RawHttp
{
    private const int MaxResponseHead = 64 * 1024;

    public static async Task<RawResponse> SendAsync(Uri server, RawRequest request)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        using var client = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        await client.ConnectAsync(IPAddress.Loopback, server.Port, timeout.Token);
        NetworkStream stream = client.GetStream();

        // Write and read concurrently: a server that refuses early (e.g. 431 on the hundred-and-first header) may
        // answer and close before the whole request is written, and that answer is what the test is about.
        Task write = WriteIgnoringResetAsync(stream, request.ToBytes(), timeout.Token);
        RawResponse response = await ReadHeadAsync(stream, timeout.Token);
        await write;
        return response;
    }

    private static async Task WriteIgnoringResetAsync(NetworkStream stream, byte[] bytes, CancellationToken cancellationToken)
    {
        try
        {
            await stream.WriteAsync(bytes, cancellationToken);
            await stream.FlushAsync(cancellationToken);
        }
        catch (IOException)
        {
            // The server stopped reading and closed: its response (or its absence) decides the test.
        }
    }

    private static async Task<RawResponse> ReadHeadAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[MaxResponseHead];
        int filled = 0;
        while (true)
        {
            int end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                return Parse(Encoding.ASCII.GetString(buffer, 0, end));
            }

            Assert.True(filled < buffer.Length, "The response head is over 64 KiB.");
            int read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken);
            Assert.True(read > 0, $"The server closed the connection without a complete response head (got {filled} bytes).");
            filled += read;
        }
    }

    private static RawResponse Parse(string head)
    {
        string[] lines = head.Split("\r\n");
        string[] status = lines[0].Split(' ', 3);
        Assert.True(status.Length >= 2 && status[0].StartsWith("HTTP/1.", StringComparison.Ordinal), $"Bad status line '{lines[0]}'.");
        var headers = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (string line in lines.AsSpan(1))
        {
            int colon = line.IndexOf(':');
            Assert.True(colon > 0, $"Bad header line '{line}'.");
            string name = line[..colon].Trim();
            if (!headers.TryGetValue(name, out List<string>? values))
            {
                headers[name] = values = [];
            }

            values.Add(line[(colon + 1)..].Trim());
        }

        return new RawResponse(
            int.Parse(status[1], System.Globalization.CultureInfo.InvariantCulture),
            lines[0],
            headers.ToDictionary(h => h.Key, h => (IReadOnlyList<string>)h.Value, StringComparer.OrdinalIgnoreCase));
    }
}

/// <summary>Counts handler invocations across threads.</summary>
internal sealed class Counter
{
    private int _value;

    public int Value => Volatile.Read(ref _value);

    public void Increment() => Interlocked.Increment(ref _value);
}
