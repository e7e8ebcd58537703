using System.Threading.RateLimiting;

namespace AspNetWebSockets;

/// <summary>
/// A connection's admission check for each whole message it receives: permits from every configured bucket (messages
/// and bytes; the connection's own and the endpoint's shared ones). Under <see cref="WebSocketRateLimitPolicy.Backpressure"/>
/// it waits until the buckets allow the message — the application gets no message and nothing more is read meanwhile,
/// so TCP slows the peer — and under <see cref="WebSocketRateLimitPolicy.Close"/> it closes the connection with 1008.
/// </summary>
internal sealed class WebSocketConnectionRateLimit
{
    private static readonly TimeSpan MinimumWait = TimeSpan.FromMilliseconds(10);

    private readonly WebSocketRateLimitPolicy _policy;

    // In this order: connection messages, connection bytes, endpoint messages, endpoint bytes (even: messages, odd: bytes).
    private readonly MessageBucket?[] _buckets;

    // Bytes of the message being streamed through ReceiveAsync(Memory<byte>) so far.
    private long _streamedLength;

    public WebSocketConnectionRateLimit(WebSocketRateLimitPolicy policy, MessageBucket? messages, MessageBucket? bytes, MessageBucket? endpointMessages, MessageBucket? endpointBytes)
    {
        _policy = policy;
        _buckets = [messages, bytes, endpointMessages, endpointBytes];
    }

    /// <summary>
    /// Admits a received message of <paramref name="length"/> bytes: true to hand it to the application (at once, or
    /// after waiting under backpressure); false when the connection was closed for exceeding a limit. Completes
    /// synchronously, without allocating, when every bucket has the permits.
    /// </summary>
    public ValueTask<bool> AdmitAsync(WebSocketConnection connection, int length, CancellationToken cancellationToken)
    {
        int denied = TryAcquireFrom(0, length, out TimeSpan retryAfter);
        return denied < 0 ? new ValueTask<bool>(true) : LimitedAsync(connection, length, denied, retryAfter, cancellationToken);
    }

    /// <summary>
    /// Admits a part of a streamed receive: a message counts once, at its end, with its whole length (see
    /// <see cref="AdmitAsync"/>); the parts before it and the close pass.
    /// </summary>
    public ValueTask<bool> AdmitPartAsync(WebSocketConnection connection, System.Net.WebSockets.ValueWebSocketReceiveResult part, CancellationToken cancellationToken)
    {
        if (part.MessageType == System.Net.WebSockets.WebSocketMessageType.Close)
        {
            return new ValueTask<bool>(true);
        }

        _streamedLength += part.Count;
        if (!part.EndOfMessage)
        {
            return new ValueTask<bool>(true);
        }

        int length = (int)Math.Min(_streamedLength, int.MaxValue);
        _streamedLength = 0;
        return AdmitAsync(connection, length, cancellationToken);
    }

    private async ValueTask<bool> LimitedAsync(WebSocketConnection connection, int length, int denied, TimeSpan retryAfter, CancellationToken cancellationToken)
    {
        string scope = denied < 2 ? "connection" : "endpoint";
        connection.Metrics?.MessageLimited(scope, _policy);
        if (_policy == WebSocketRateLimitPolicy.Close)
        {
            Log.MessageRateLimited(connection.Logger, connection.ConnectionId, scope);
            await connection.CloseQuietlyAsync(WebSocketCloseCode.PolicyViolation, "Message rate limit exceeded").ConfigureAwait(false);
            return false;
        }

        // Backpressure: wait as long as the refusing bucket says, then ask it (and the ones after it) again. A bucket holds
        // one second's worth, so each wait is at most about a second; the loop ends once the connection has closed.
        while (denied >= 0)
        {
            await Task.Delay(retryAfter > MinimumWait ? retryAfter : MinimumWait, cancellationToken).ConfigureAwait(false);
            if (connection.ReadyState == WebSocketReadyState.Closed)
            {
                return true; // the message was received; the next receive reports the close
            }

            denied = TryAcquireFrom(denied, length, out retryAfter);
        }

        return true;
    }

    /// <summary>Takes permits from the buckets from <paramref name="first"/> on; returns the index of the one that refused, or -1.</summary>
    private int TryAcquireFrom(int first, int length, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        for (int i = first; i < _buckets.Length; i++)
        {
            if (_buckets[i] is not { } bucket)
            {
                continue;
            }

            // A message bigger than a bytes bucket costs the whole bucket (asking for more than it holds would throw).
            int permits = (i & 1) == 0 ? 1 : Math.Clamp(length, 1, bucket.Limit);
            bucket.Limiter.TryReplenish();
            using RateLimitLease lease = bucket.Limiter.AttemptAcquire(permits);
            if (!lease.IsAcquired)
            {
                if (!lease.TryGetMetadata(MetadataName.RetryAfter, out retryAfter))
                {
                    retryAfter = MinimumWait;
                }

                return i;
            }
        }

        return -1;
    }
}
