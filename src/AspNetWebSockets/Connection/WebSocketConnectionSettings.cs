using AspNetWebSockets.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AspNetWebSockets;

/// <summary>
/// What a connection needs to know that is the same for every connection of an endpoint (limits, timeouts, policies and
/// the server's shared services): one instance shared by those connections (see <c>WebSocketServer.ConnectionSettingsFor</c>),
/// so an idle connection holds a reference rather than a copy. What differs per connection (the negotiated subprotocol
/// and extension, the id, its rate limit and message spans) is in <see cref="PerConnectionSettings"/>.
/// </summary>
internal sealed class WebSocketConnectionSettings
{
    public WebSocketRole Role { get; init; } = WebSocketRole.Server;

    public DecoderLimits Limits { get; init; } = new(1024 * 1024, 1024 * 1024, 4096);

    public TimeSpan KeepAliveInterval { get; init; } = Timeout.InfiniteTimeSpan;

    public TimeSpan KeepAliveTimeout { get; init; } = Timeout.InfiniteTimeSpan;

    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public long MaxBufferedAmount { get; init; } = long.MaxValue;

    public WebSocketSlowConsumerPolicy SlowConsumerPolicy { get; init; } = WebSocketSlowConsumerPolicy.Backpressure;

    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>Where connection, message and byte counts are recorded; null (the test client) records nothing.</summary>
    public AspNetWebSockets.Diagnostics.WebSocketMetrics? Metrics { get; init; }

    /// <summary>The shared timer that drives keep-alive and notices vanished peers; null (the test client) disables both.</summary>
    public WebSocketHeartbeat? Heartbeat { get; init; }

    /// <summary>
    /// Whether the connection stays in <see cref="Heartbeat"/>'s registry after it closed, until its owner unregisters it
    /// (the server does when the application is done with it): the registry is also the server's list of its
    /// connections, which counts a connection until its handler has ended. Otherwise the connection leaves when it
    /// closes.
    /// </summary>
    public bool OwnerUnregisters { get; init; }

    /// <summary>
    /// Event-loop mode: the code a completed read runs (the receive, and the handler up to its next wait) is corked, so its
    /// sends leave in one flush per connection. Off in the default mode, where a handler may block and its replies must not
    /// wait for it.
    /// </summary>
    public bool AutoCork { get; init; }

    /// <summary>Event-loop mode: times each receive callback against the stall threshold; null in the default mode.</summary>
    public AspNetWebSockets.Diagnostics.WebSocketLoopStallMonitor? LoopStalls { get; init; }

    /// <summary>
    /// The settings of a client-role connection (<see cref="WebSocketConnection.CreateClient"/>): no keep-alive, extensions
    /// or metrics; <paramref name="maxMessageSize"/> bounds messages and frames alike. Not shared: clients are few.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxMessageSize"/> is not positive, or <paramref name="closeTimeout"/> is negative and not infinite.</exception>
    public static WebSocketConnectionSettings ForClient(long maxMessageSize, TimeSpan closeTimeout)
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
        };
    }
}
