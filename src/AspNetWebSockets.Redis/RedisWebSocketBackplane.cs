using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AspNetWebSockets.Redis;

/// <summary>
/// A backplane on Redis pub/sub (StackExchange.Redis): each node publishes its group and "all" broadcasts on channels under
/// <see cref="RedisBackplaneOptions.ChannelPrefix"/> and delivers the ones published by other nodes to its local members.
/// </summary>
/// <remarks>
/// <para>Every message carries the publishing node's id; a node skips its own (it delivered them locally already), so no member
/// gets a message twice. Messages from one node arrive at every other node in the order it published them (one connection,
/// one subscription, handled one at a time).</para>
/// <para>Redis pub/sub is fire-and-forget. While this node is disconnected from Redis — a restart, a failover, a network
/// break — broadcasts published by other nodes in that time are lost for its members, and its own broadcasts still reach
/// its own members but not other nodes' (StackExchange.Redis queues them for a few seconds and then drops them). Nothing is
/// replayed after reconnecting; an application that needs every message must resynchronise (e.g. the client reloads
/// recent history). StackExchange.Redis reconnects and resubscribes by itself; the losses and reconnects are logged.</para>
/// </remarks>
public sealed partial class RedisWebSocketBackplane : IWebSocketBackplane, IHostedService, IAsyncDisposable
{
    private const byte FormatVersion = 1;

    private readonly RedisBackplaneOptions _options;
    private readonly ILogger _logger;
    private readonly byte[] _nodeId = Guid.NewGuid().ToByteArray();
    private readonly string _allChannel;
    private readonly string _groupChannelPrefix;
    private Func<WebSocketBackplaneMessage, ValueTask>? _receiver;
    private ConnectionMultiplexer? _redis;
    private ChannelMessageQueue? _queue;

    /// <summary>Creates the backplane; it connects when the host starts.</summary>
    /// <param name="options">The Redis configuration and channel prefix.</param>
    /// <param name="loggerFactory">For connection-state logging.</param>
    public RedisWebSocketBackplane(IOptions<RedisBackplaneOptions> options, ILoggerFactory loggerFactory)
    {
        _options = options.Value;
        _logger = loggerFactory.CreateLogger("AspNetWebSockets.Redis");
        _allChannel = _options.ChannelPrefix + ":all";
        _groupChannelPrefix = _options.ChannelPrefix + ":group:";
    }

    /// <summary>This node's id as put on every message it publishes.</summary>
    public Guid NodeId => new(_nodeId);

    /// <summary>Whether the connection to Redis is up.</summary>
    public bool IsConnected => _redis?.IsConnected ?? false;

    /// <inheritdoc />
    public void SetReceiver(Func<WebSocketBackplaneMessage, ValueTask> receiver) => _receiver = receiver;

    /// <inheritdoc />
    public async ValueTask PublishAsync(WebSocketBackplaneMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ConnectionMultiplexer? redis = _redis;
        if (redis is null)
        {
            return; // not started (or stopped): single-node delivery only
        }

        byte[] body = new byte[1 + 16 + 1 + message.Payload.Length];
        body[0] = FormatVersion;
        _nodeId.CopyTo(body, 1);
        body[17] = message.MessageType == WebSocketMessageType.Text ? (byte)1 : (byte)2;
        message.Payload.Span.CopyTo(body.AsSpan(18));
        RedisChannel channel = RedisChannel.Literal(message.Group is null ? _allChannel : _groupChannelPrefix + message.Group);
        try
        {
            // Fire-and-forget: the broadcaster never waits for Redis; order per connection is kept.
            await redis.GetSubscriber().PublishAsync(channel, body, CommandFlags.FireAndForget).ConfigureAwait(false);
        }
        catch (RedisException e)
        {
            LogPublishFailed(_logger, e);
        }
    }

    /// <summary>Connects to Redis (without failing startup if it is down: it keeps retrying) and subscribes to the prefix's channels.</summary>
    /// <param name="cancellationToken">Stops waiting for the connection.</param>
    /// <returns>A task that completes once subscribed, or once the first connection attempt has failed.</returns>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        ConfigurationOptions configuration = ConfigurationOptions.Parse(_options.Configuration);
        configuration.AbortOnConnectFail = false;
        configuration.ClientName ??= "aspnetwebsockets-" + NodeId.ToString("N")[..8];
        ConnectionMultiplexer redis = await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
        redis.ConnectionFailed += (_, e) => LogConnectionFailed(_logger, e.EndPoint?.ToString() ?? "?", e.FailureType.ToString(), e.Exception);
        redis.ConnectionRestored += (_, e) => LogConnectionRestored(_logger, e.EndPoint?.ToString() ?? "?");
        _redis = redis;

        ChannelMessageQueue queue = await redis.GetSubscriber()
            .SubscribeAsync(RedisChannel.Pattern(_options.ChannelPrefix + ":*")).ConfigureAwait(false);
        queue.OnMessage(OnMessageAsync); // handled one at a time, in order
        _queue = queue;
        LogStarted(_logger, _options.ChannelPrefix, redis.IsConnected);
    }

    /// <summary>Unsubscribes and closes the connection.</summary>
    /// <param name="cancellationToken">Unused.</param>
    /// <returns>A task that completes when disconnected.</returns>
    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync().ConfigureAwait(false);

    /// <summary>Unsubscribes and closes the connection.</summary>
    /// <returns>A task that completes when disconnected.</returns>
    public async ValueTask DisposeAsync()
    {
        ChannelMessageQueue? queue = Interlocked.Exchange(ref _queue, null);
        ConnectionMultiplexer? redis = Interlocked.Exchange(ref _redis, null);
        if (queue is not null)
        {
            try
            {
                await queue.UnsubscribeAsync().ConfigureAwait(false);
            }
            catch (RedisException)
            {
                // Redis is unreachable; closing the connection drops the subscription anyway.
            }
        }

        if (redis is not null)
        {
            await redis.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
            await redis.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task OnMessageAsync(ChannelMessage message)
    {
        // The pattern subscription also sees channels other components keep under the same prefix (presence
        // notifications on "{prefix}:presence"): those are not ours, so they are skipped before the format is checked.
        string channel = message.Channel.ToString();
        bool addressed = channel == AddressedChannel;
        string? group = null;
        if (!addressed && channel != _allChannel)
        {
            if (!channel.StartsWith(_groupChannelPrefix, StringComparison.Ordinal))
            {
                return;
            }

            group = channel[_groupChannelPrefix.Length..];
        }

        byte[]? body = message.Message;
        if (body is null || body.Length < 18 || body[0] != FormatVersion || body[17] is not (1 or 2))
        {
            LogMalformed(_logger, channel);
            return;
        }

        if (body.AsSpan(1, 16).SequenceEqual(_nodeId))
        {
            return; // our own broadcast: already delivered locally
        }

        if (addressed)
        {
            await OnAddressedAsync(body, channel).ConfigureAwait(false);
            return;
        }

        Func<WebSocketBackplaneMessage, ValueTask>? receiver = _receiver;
        if (receiver is null)
        {
            return;
        }

        var type = body[17] == 1 ? WebSocketMessageType.Text : WebSocketMessageType.Binary;
        try
        {
            await receiver(new WebSocketBackplaneMessage(group, type, body.AsMemory(18))).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogDeliveryFailed(_logger, channel, e);
        }
    }

    [LoggerMessage(200, LogLevel.Information, "Redis backplane started on channels '{Prefix}:*' (connected: {Connected}).", EventName = "RedisBackplaneStarted")]
    private static partial void LogStarted(ILogger logger, string prefix, bool connected);

    [LoggerMessage(201, LogLevel.Warning, "Redis backplane lost its connection to {EndPoint} ({FailureType}); broadcasts between nodes are lost until it reconnects.", EventName = "RedisBackplaneConnectionFailed")]
    private static partial void LogConnectionFailed(ILogger logger, string endPoint, string failureType, Exception? exception);

    [LoggerMessage(202, LogLevel.Information, "Redis backplane reconnected to {EndPoint}.", EventName = "RedisBackplaneConnectionRestored")]
    private static partial void LogConnectionRestored(ILogger logger, string endPoint);

    [LoggerMessage(203, LogLevel.Warning, "Redis backplane could not publish a broadcast; other nodes miss it.", EventName = "RedisBackplanePublishFailed")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception);

    [LoggerMessage(204, LogLevel.Warning, "Redis backplane ignored a malformed message on {Channel}.", EventName = "RedisBackplaneMalformedMessage")]
    private static partial void LogMalformed(ILogger logger, string channel);

    [LoggerMessage(205, LogLevel.Warning, "Redis backplane failed to deliver a message from {Channel}.", EventName = "RedisBackplaneDeliveryFailed")]
    private static partial void LogDeliveryFailed(ILogger logger, string channel, Exception exception);
}
