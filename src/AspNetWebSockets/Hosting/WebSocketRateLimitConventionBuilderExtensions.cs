using AspNetWebSockets.Hosting;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Per-endpoint message rate limits for <c>MapWebSocket</c> endpoints.</summary>
public static class WebSocketRateLimitConventionBuilderExtensions
{
    /// <summary>
    /// This endpoint's message rate limits, replacing <see cref="AspNetWebSockets.WebSocketServerOptions.MessageRateLimit"/>:
    /// per connection and for all of the endpoint's connections together (see
    /// <see cref="AspNetWebSockets.WebSocketMessageRateLimitOptions"/>).
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">The endpoint.</param>
    /// <param name="configure">Sets the limits and the policy.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="ArgumentException">A limit is not positive.</exception>
    public static TBuilder WithMessageRateLimit<TBuilder>(this TBuilder builder, Action<AspNetWebSockets.WebSocketMessageRateLimitOptions> configure)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(configure);
        var options = new AspNetWebSockets.WebSocketMessageRateLimitOptions();
        configure(options);
        if (options.Problems().FirstOrDefault() is { } problem)
        {
            throw new ArgumentException(problem, nameof(configure));
        }

        builder.Add(b => b.Metadata.Add(new MessageRateLimitMetadata(options)));
        return builder;
    }
}
