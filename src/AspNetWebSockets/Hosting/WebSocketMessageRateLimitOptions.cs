namespace AspNetWebSockets;

/// <summary>
/// Limits on the messages a peer sends (<c>o.MessageRateLimit</c>, or per endpoint <c>.WithMessageRateLimit(...)</c>), per
/// connection and for all connections of an endpoint together, in messages and payload bytes per second. Token buckets
/// from <c>System.Threading.RateLimiting</c>, each holding one second's worth, so a peer may burst up to one second of
/// its rate. All limits are off by default. What happens to a message over a limit is <see cref="Policy"/>.
/// </summary>
/// <remarks>
/// Applies to whole-message receives: <see cref="WebSocketConnection.ReadAllAsync"/>, <see cref="WebSocketConnection.ReceiveAsync(CancellationToken)"/>
/// and <see cref="WebSocketHandler"/>. The streaming <c>ReceiveAsync(Memory&lt;byte&gt;)</c> and the drop-in
/// <c>AcceptWebSocketAsync</c> path are not limited. A message larger than a bytes-per-second bucket costs the whole bucket.
/// </remarks>
public sealed class WebSocketMessageRateLimitOptions
{
    /// <summary>Most messages per second one connection may send. Default null: no limit.</summary>
    public int? MessagesPerSecond { get; set; }

    /// <summary>Most payload bytes (after decompression) per second one connection may send. Default null: no limit.</summary>
    public long? BytesPerSecond { get; set; }

    /// <summary>Most messages per second all connections of one endpoint may send together. Default null: no limit.</summary>
    public int? EndpointMessagesPerSecond { get; set; }

    /// <summary>Most payload bytes per second all connections of one endpoint may send together. Default null: no limit.</summary>
    public long? EndpointBytesPerSecond { get; set; }

    /// <summary>What a message over a limit does. Default <see cref="WebSocketRateLimitPolicy.Backpressure"/>.</summary>
    public WebSocketRateLimitPolicy Policy { get; set; } = WebSocketRateLimitPolicy.Backpressure;

    /// <summary>Whether any limit is set.</summary>
    internal bool IsEnabled => MessagesPerSecond is not null || BytesPerSecond is not null || EndpointMessagesPerSecond is not null || EndpointBytesPerSecond is not null;

    internal WebSocketMessageRateLimitOptions Clone() => (WebSocketMessageRateLimitOptions)MemberwiseClone();

    /// <summary>What is wrong with these settings, one message per problem; empty when valid.</summary>
    internal IEnumerable<string> Problems()
    {
        const string Name = "MessageRateLimit.";
        if (MessagesPerSecond is <= 0)
        {
            yield return Name + nameof(MessagesPerSecond) + " must be positive when set.";
        }

        if (BytesPerSecond is <= 0)
        {
            yield return Name + nameof(BytesPerSecond) + " must be positive when set.";
        }

        if (EndpointMessagesPerSecond is <= 0)
        {
            yield return Name + nameof(EndpointMessagesPerSecond) + " must be positive when set.";
        }

        if (EndpointBytesPerSecond is <= 0)
        {
            yield return Name + nameof(EndpointBytesPerSecond) + " must be positive when set.";
        }

        if (!Enum.IsDefined(Policy))
        {
            yield return Name + nameof(Policy) + " is not a WebSocketRateLimitPolicy value.";
        }
    }
}

/// <summary>What a message over a <see cref="WebSocketMessageRateLimitOptions"/> limit does.</summary>
public enum WebSocketRateLimitPolicy
{
    /// <summary>
    /// The message is handed to the application only once the limit allows it, and nothing more is read meanwhile, so TCP
    /// slows the peer to the limit.
    /// </summary>
    Backpressure,

    /// <summary>The message is dropped and the connection closed with 1008 (policy violation).</summary>
    Close,
}
