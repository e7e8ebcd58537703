using System.Threading.RateLimiting;

namespace AspNetWebSockets;

/// <summary>
/// One endpoint's message rate limits (<see cref="WebSocketMessageRateLimitOptions"/>): the endpoint-wide token buckets,
/// shared by its connections, and a factory for each connection's own. Token buckets do not replenish on a timer of their
/// own here (no timer per connection): each is replenished for the elapsed time just before it is asked for permits.
/// </summary>
internal sealed class WebSocketMessageRateLimiter
{
    private readonly WebSocketMessageRateLimitOptions _options;
    private readonly MessageBucket? _endpointMessages;
    private readonly MessageBucket? _endpointBytes;

    public WebSocketMessageRateLimiter(WebSocketMessageRateLimitOptions options)
    {
        _options = options.Clone();
        _endpointMessages = Bucket(options.EndpointMessagesPerSecond);
        _endpointBytes = Bucket(options.EndpointBytesPerSecond);
    }

    /// <summary>The limiter for one connection: its own buckets plus the endpoint's shared ones.</summary>
    public WebSocketConnectionRateLimit ForConnection() =>
        new(_options.Policy, Bucket(_options.MessagesPerSecond), Bucket(_options.BytesPerSecond), _endpointMessages, _endpointBytes);

    /// <summary>A bucket of one second's worth of <paramref name="perSecond"/>, refilled as time passes; null for no limit.</summary>
    private static MessageBucket? Bucket(long? perSecond)
    {
        if (perSecond is not { } rate)
        {
            return null;
        }

        int limit = (int)Math.Clamp(rate, 1, int.MaxValue);
        return new MessageBucket(limit, new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = limit,
            TokensPerPeriod = limit,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            AutoReplenishment = false,
            QueueLimit = 0,
        }));
    }
}

/// <summary>A token bucket and its size (a request for more permits than the size would throw, so it is clamped to it).</summary>
internal sealed record MessageBucket(int Limit, TokenBucketRateLimiter Limiter);
