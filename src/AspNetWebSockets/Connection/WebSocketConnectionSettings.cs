using AspNetWebSockets.Extensions;
using AspNetWebSockets.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AspNetWebSockets;

/// <summary>Everything a connection needs to know at construction, resolved from options and the handshake.</summary>
internal sealed class WebSocketConnectionSettings
{
    public WebSocketRole Role { get; init; } = WebSocketRole.Server;

    public DecoderLimits Limits { get; init; } = new(1024 * 1024, 1024 * 1024, 4096);

    public TimeSpan KeepAliveInterval { get; init; } = Timeout.InfiniteTimeSpan;

    public TimeSpan KeepAliveTimeout { get; init; } = Timeout.InfiniteTimeSpan;

    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public long MaxBufferedAmount { get; init; } = long.MaxValue;

    public WebSocketSlowConsumerPolicy SlowConsumerPolicy { get; init; } = WebSocketSlowConsumerPolicy.Backpressure;

    public string? SubProtocol { get; init; }

    public string Extensions { get; init; } = string.Empty;

    /// <summary>The negotiated extension's session (permessage-deflate or another), owned by the connection; null for none.</summary>
    public IWebSocketExtensionSession? Extension { get; init; }

    /// <summary>The RSV bits <see cref="Extension"/>'s messages carry.</summary>
    public byte ExtensionBits { get; init; }

    public string ConnectionId { get; init; } = string.Empty;

    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>Where connection, message and byte counts are recorded; null (the test client) records nothing.</summary>
    public AspNetWebSockets.Diagnostics.WebSocketMetrics? Metrics { get; init; }

    /// <summary>The shared timer that drives keep-alive and notices vanished peers; null (the test client) disables both.</summary>
    public WebSocketHeartbeat? Heartbeat { get; init; }

    /// <summary>Per-message spans, or null when they are off or the connection's span is not recorded.</summary>
    public AspNetWebSockets.Diagnostics.WebSocketMessageTracer? MessageTracer { get; init; }

    /// <summary>
    /// Event-loop mode: the code a completed read runs (the receive, and the handler up to its next wait) is corked, so its
    /// sends leave in one flush per connection. Off in the default mode, where a handler may block and its replies must not
    /// wait for it.
    /// </summary>
    public bool AutoCork { get; init; }

    /// <summary>Event-loop mode: times each receive callback against the stall threshold; null in the default mode.</summary>
    public AspNetWebSockets.Diagnostics.WebSocketLoopStallMonitor? LoopStalls { get; init; }

    /// <summary>Message rate limits, or null when none apply.</summary>
    public WebSocketConnectionRateLimit? RateLimit { get; init; }

    /// <summary>
    /// The settings of a client-role connection (<see cref="WebSocketConnection.CreateClient"/>): no keep-alive, extensions
    /// or metrics; <paramref name="maxMessageSize"/> bounds messages and frames alike.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxMessageSize"/> is not positive, or <paramref name="closeTimeout"/> is negative and not infinite.</exception>
    public static WebSocketConnectionSettings ForClient(string? subProtocol, long maxMessageSize, TimeSpan closeTimeout)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxMessageSize);
        if (closeTimeout < TimeSpan.Zero && closeTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(closeTimeout), closeTimeout, "The close timeout must be positive or infinite.");
        }

        return new WebSocketConnectionSettings
        {
            Role = WebSocketRole.Client,
            Limits = new DecoderLimits(maxMessageSize, maxMessageSize, int.MaxValue),
            CloseTimeout = closeTimeout,
            SubProtocol = subProtocol,
            ConnectionId = "client",
        };
    }
}
