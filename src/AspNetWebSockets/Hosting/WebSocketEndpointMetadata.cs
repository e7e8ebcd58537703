namespace AspNetWebSockets.Hosting;

/// <summary>Endpoint metadata: the subprotocols this endpoint speaks, most preferred first, and whether one is required.</summary>
internal sealed record SubProtocolMetadata(IReadOnlyList<string> SubProtocols, bool? Required);

/// <summary>Endpoint metadata: this endpoint's largest accepted message.</summary>
internal sealed record MaxMessageSizeMetadata(long MaxMessageSize);

/// <summary>Endpoint metadata: whether this endpoint negotiates permessage-deflate, overriding the server option.</summary>
internal sealed record CompressionMetadata(bool Enabled);

/// <summary>Endpoint metadata: this endpoint's message rate limits, replacing the server's.</summary>
internal sealed record MessageRateLimitMetadata(WebSocketMessageRateLimitOptions Options);

/// <summary>Endpoint metadata marking an endpoint created by <c>MapWebSocket</c> (browser access tokens are read only there).</summary>
internal sealed class WebSocketEndpointMarker
{
    public static readonly WebSocketEndpointMarker Instance = new();
}
