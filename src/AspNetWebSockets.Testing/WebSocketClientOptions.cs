using System.Net.Security;

namespace AspNetWebSockets.Testing;

/// <summary>Settings for a test client connection.</summary>
public sealed class WebSocketClientOptions
{
    /// <summary>Subprotocols to offer in <c>Sec-WebSocket-Protocol</c>, in order.</summary>
    public IList<string> SubProtocols { get; } = new List<string>();

    /// <summary>An <c>Origin</c> header to send, as a browser would (null sends none, as non-browser clients do).</summary>
    public string? Origin { get; set; }

    /// <summary>Extra request headers (e.g. <c>Authorization</c>, <c>Cookie</c>, or deliberately malformed handshake headers).</summary>
    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The <c>Sec-WebSocket-Version</c> to send. Default "13".</summary>
    public string Version { get; set; } = "13";

    /// <summary>Largest message the client accepts. Default 64 MiB.</summary>
    public long MaxMessageSize { get; set; } = 64 * 1024 * 1024;

    /// <summary>How long to wait for the server's close frame after sending ours. Default 5 s.</summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long the whole opening handshake may take. Default 10 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>For <c>wss://</c>: validates the server certificate (e.g. accept a test certificate). Null uses the system's rules.</summary>
    public RemoteCertificateValidationCallback? RemoteCertificateValidation { get; set; }
}
