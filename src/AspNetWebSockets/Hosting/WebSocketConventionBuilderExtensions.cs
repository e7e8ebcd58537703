using AspNetWebSockets;
using AspNetWebSockets.Hosting;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Per-endpoint WebSocket settings for endpoints created with <c>MapWebSocket</c>.</summary>
public static class WebSocketConventionBuilderExtensions
{
    /// <summary>
    /// The subprotocols this endpoint speaks, most preferred first (replaces <see cref="WebSocketServerOptions.SubProtocols"/>).
    /// The first one the client also offers is selected; if none matches the handshake completes without one
    /// (browsers then refuse the connection) unless <see cref="RequireSubProtocol{TBuilder}"/> makes it a 400.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">The endpoint.</param>
    /// <param name="subProtocols">RFC 7230 tokens such as <c>chat.v2</c>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static TBuilder WithSubProtocols<TBuilder>(this TBuilder builder, params string[] subProtocols)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(subProtocols);
        foreach (string protocol in subProtocols)
        {
            if (!AspNetWebSockets.Handshake.HeaderTokens.IsToken(protocol))
            {
                throw new ArgumentException($"Subprotocol '{protocol}' is not an RFC 7230 token.", nameof(subProtocols));
            }
        }

        string[] copy = (string[])subProtocols.Clone();
        builder.Add(b => b.Metadata.Add(new SubProtocolMetadata(copy, Required: null)));
        return builder;
    }

    /// <summary>Refuses (400) handshakes that match none of the endpoint's subprotocols.</summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">The endpoint.</param>
    /// <returns>The builder, for chaining.</returns>
    public static TBuilder RequireSubProtocol<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.Add(b => b.Metadata.Add(new SubProtocolMetadata([], Required: true)));
        return builder;
    }

    /// <summary>This endpoint's largest accepted message in bytes (replaces <see cref="WebSocketServerOptions.MaxMessageSize"/>).</summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">The endpoint.</param>
    /// <param name="maxMessageSize">A positive size in bytes.</param>
    /// <returns>The builder, for chaining.</returns>
    public static TBuilder WithMaxMessageSize<TBuilder>(this TBuilder builder, long maxMessageSize)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxMessageSize);
        builder.Add(b => b.Metadata.Add(new MaxMessageSizeMetadata(maxMessageSize)));
        return builder;
    }

    /// <summary>
    /// Negotiates permessage-deflate on this endpoint (or not, with <paramref name="enabled"/> false), overriding
    /// <see cref="WebSocketCompressionOptions.Enabled"/>; the other compression settings come from the server options.
    /// Mind CRIME/BREACH before enabling it where secrets and attacker-influenced text share a message.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">The endpoint.</param>
    /// <param name="enabled">Whether to negotiate compression.</param>
    /// <returns>The builder, for chaining.</returns>
    public static TBuilder WithCompression<TBuilder>(this TBuilder builder, bool enabled = true)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.Add(b => b.Metadata.Add(new CompressionMetadata(enabled)));
        return builder;
    }
}
