using AspNetWebSockets.Protocol;
using Microsoft.AspNetCore.Http;

namespace AspNetWebSockets.Hosting;

/// <summary>
/// An endpoint's effective WebSocket settings: its metadata over the server options. Resolved once per endpoint (see
/// <see cref="WebSocketServer.SettingsFor"/>) by both upgrade paths — <c>MapWebSocket</c> endpoints and the drop-in
/// <c>AcceptWebSocketAsync</c> on whatever endpoint the request reached — so endpoint-wide rate-limit buckets are shared
/// by the endpoint's connections.
/// </summary>
internal sealed record WebSocketEndpointSettings(IReadOnlyList<string> SubProtocols, bool RequireSubProtocol, DecoderLimits Limits, bool Compression, WebSocketMessageRateLimiter? RateLimiter)
{
    public static WebSocketEndpointSettings Resolve(Endpoint? endpoint, WebSocketServerOptions options)
    {
        IReadOnlyList<string> subProtocols = options.SubProtocols.ToArray();
        bool required = options.RequireSubProtocol;
        long maxMessageSize = options.MaxMessageSize;
        bool compression = options.Compression.Enabled;
        if (endpoint is not null)
        {
            foreach (SubProtocolMetadata metadata in endpoint.Metadata.GetOrderedMetadata<SubProtocolMetadata>())
            {
                if (metadata.SubProtocols.Count > 0)
                {
                    subProtocols = metadata.SubProtocols;
                }

                required = metadata.Required ?? required;
            }

            maxMessageSize = endpoint.Metadata.GetMetadata<MaxMessageSizeMetadata>()?.MaxMessageSize ?? maxMessageSize;
            compression = endpoint.Metadata.GetMetadata<CompressionMetadata>()?.Enabled ?? compression;
        }

        // Rate limits: built once per endpoint, so the endpoint-wide buckets are shared by its connections.
        WebSocketMessageRateLimitOptions rateLimit = endpoint?.Metadata.GetMetadata<MessageRateLimitMetadata>()?.Options ?? options.MessageRateLimit;
        WebSocketMessageRateLimiter? rateLimiter = rateLimit.IsEnabled ? new WebSocketMessageRateLimiter(rateLimit) : null;
        return new WebSocketEndpointSettings(subProtocols, required, options.DecoderLimitsFor(maxMessageSize), compression, rateLimiter);
    }
}
