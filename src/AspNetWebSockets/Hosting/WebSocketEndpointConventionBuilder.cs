using AspNetWebSockets;
using AspNetWebSockets.Handshake;
using AspNetWebSockets.Hosting;

namespace Microsoft.AspNetCore.Builder;

/// <summary>
/// The builder <c>MapWebSocket</c> returns: every endpoint convention (<c>RequireAuthorization</c>, <c>RequireCors</c>,
/// rate limiting, <c>WithMetadata</c>, …) plus the WebSocket settings of one endpoint, which exist only here so that they
/// cannot be applied, silently doing nothing, to an endpoint that is not a WebSocket endpoint.
/// </summary>
public sealed class WebSocketEndpointConventionBuilder : IEndpointConventionBuilder
{
    private readonly IEndpointConventionBuilder _inner;

    internal WebSocketEndpointConventionBuilder(IEndpointConventionBuilder inner) => _inner = inner;

    /// <inheritdoc/>
    public void Add(Action<EndpointBuilder> convention) => _inner.Add(convention);

    /// <inheritdoc/>
    public void Finally(Action<EndpointBuilder> finallyConvention) => _inner.Finally(finallyConvention);

    /// <summary>
    /// The subprotocols this endpoint speaks, most preferred first (replaces <see cref="WebSocketServerOptions.SubProtocols"/>).
    /// The first one the client also offers is selected; if none matches the handshake completes without one
    /// (browsers then refuse the connection) unless <see cref="RequireSubProtocol"/> makes it a 400.
    /// </summary>
    /// <param name="subProtocols">RFC 7230 tokens such as <c>chat.v2</c>.</param>
    /// <returns>This builder, for chaining.</returns>
    /// <exception cref="ArgumentException">An entry is not an RFC 7230 token.</exception>
    public WebSocketEndpointConventionBuilder WithSubProtocols(params string[] subProtocols)
    {
        ArgumentNullException.ThrowIfNull(subProtocols);
        foreach (string protocol in subProtocols)
        {
            if (!HeaderTokens.IsToken(protocol))
            {
                throw new ArgumentException($"Subprotocol '{protocol}' is not an RFC 7230 token.", nameof(subProtocols));
            }
        }

        string[] copy = (string[])subProtocols.Clone();
        return With(new SubProtocolMetadata(copy, Required: null));
    }

    /// <summary>Refuses (400) handshakes that match none of the endpoint's subprotocols.</summary>
    /// <returns>This builder, for chaining.</returns>
    public WebSocketEndpointConventionBuilder RequireSubProtocol() => With(new SubProtocolMetadata([], Required: true));

    /// <summary>This endpoint's largest accepted message in bytes, after decompression (replaces <see cref="WebSocketServerOptions.MaxMessageSize"/>).</summary>
    /// <param name="maxMessageSize">A positive size in bytes.</param>
    /// <returns>This builder, for chaining.</returns>
    public WebSocketEndpointConventionBuilder WithMaxMessageSize(long maxMessageSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxMessageSize);
        return With(new MaxMessageSizeMetadata(maxMessageSize));
    }

    /// <summary>
    /// Negotiates permessage-deflate on this endpoint (or not, with <paramref name="enabled"/> false), overriding
    /// <see cref="WebSocketCompressionOptions.Enabled"/>; the other compression settings come from the server options.
    /// Mind CRIME/BREACH before enabling it where secrets and attacker-influenced text share a message.
    /// </summary>
    /// <param name="enabled">Whether to negotiate compression.</param>
    /// <returns>This builder, for chaining.</returns>
    public WebSocketEndpointConventionBuilder WithCompression(bool enabled = true) => With(new CompressionMetadata(enabled));

    private WebSocketEndpointConventionBuilder With(object metadata)
    {
        _inner.Add(b => b.Metadata.Add(metadata));
        return this;
    }
}
