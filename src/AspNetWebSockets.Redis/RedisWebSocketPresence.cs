using System.Collections.Concurrent;
using System.Globalization;
using AspNetWebSockets.Broadcast;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AspNetWebSockets.Redis;

/// <summary>
/// Presence across nodes on Redis: group members and online users in hashes that record which node holds each connection,
/// a heartbeat per node, and notifications on one pub/sub channel (<c>{KeyPrefix}:presence</c>).
/// </summary>
/// <remarks>
/// <para><b>A dead node</b> (killed, partitioned) stops heartbeating. Queries ignore its members as soon as it has been silent
/// for <see cref="RedisPresenceOptions.NodeTimeout"/>; the next heartbeat of any live node then deletes them (up to
/// <see cref="RedisPresenceOptions.SweepBatchSize"/> connections per heartbeat) and publishes their <c>Left</c> and
/// <c>UserOffline</c> notifications. So a dead node's members are gone from queries within <c>NodeTimeout</c> and notified
/// within <c>NodeTimeout + HeartbeatInterval</c> (per batch). A node that was only cut off re-registers its connections when
/// it is heard again. A node that stops gracefully removes its members at once.</para>
/// <para><b>Cost</b>: a join, a leave, a connect or a disconnect is one script call (one round trip; inside it 3–4 commands plus a
/// PUBLISH when something changed, and a disconnect touches each group the connection was in); a heartbeat is one script
/// call per <see cref="RedisPresenceOptions.HeartbeatInterval"/> per node (ZADD plus ZRANGEBYSCORE, plus the sweep of
/// dead nodes); a query is one script call, linear in the group's size. Memory, measured on Redis 7.0 with 21-character
/// connection ids: a connection's first group membership about 410 bytes (with its per-connection index key), each further
/// membership about 120 bytes, and an online user's connection about 220 bytes.</para>
/// <para>Failures (Redis down) are logged and swallowed: joins and closes never fail because presence could not be recorded,
/// and the next re-registration after a reconnect repairs this node's entries.</para>
/// </remarks>
public sealed partial class RedisWebSocketPresence : IWebSocketPresence, IWebSocketPresenceTracker, IHostedService, IAsyncDisposable
{
    private readonly RedisPresenceOptions _options;
    private readonly ILogger _logger;
    private readonly WebSocketPresenceSubscribers _subscribers;
    private readonly string _nodeId = Guid.NewGuid().ToString("N");
    private readonly RedisValue _prefix;
    private readonly string _timeoutMs;

    // This node's own entries, to re-register them if other nodes declared it dead (e.g. after a partition).
    private readonly ConcurrentDictionary<string, LocalConnection> _local = new(StringComparer.Ordinal);
    private ConnectionMultiplexer? _redis;
    private ChannelMessageQueue? _queue;
    private CancellationTokenSource? _stopping;
    private Task? _heartbeats;
    private bool _registered;

    /// <summary>Creates the presence store; it connects when the host starts.</summary>
    /// <param name="options">Connection, prefix and timing.</param>
    /// <param name="loggerFactory">For failures.</param>
    public RedisWebSocketPresence(IOptions<RedisPresenceOptions> options, ILoggerFactory loggerFactory)
    {
        _options = options.Value;
        _logger = loggerFactory.CreateLogger("AspNetWebSockets.Redis.Presence");
        _subscribers = new WebSocketPresenceSubscribers(_logger);
        _prefix = _options.KeyPrefix;
        _timeoutMs = ((long)_options.NodeTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>This node's id in Redis.</summary>
    public string NodeId => _nodeId;

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<WebSocketPresenceMember>> GetGroupMembersAsync(string group, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(group);
        RedisValue[] pairs = await LiveAsync("group:" + group).ConfigureAwait(false);
        var members = new WebSocketPresenceMember[pairs.Length / 2];
        for (int i = 0; i < members.Length; i++)
        {
            string user = pairs[2 * i + 1].ToString();
            members[i] = new WebSocketPresenceMember(pairs[2 * i].ToString(), user.Length == 0 ? null : user);
        }

        return members;
    }

    /// <inheritdoc />
    public async ValueTask<bool> IsUserOnlineAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        return (await LiveAsync("user:" + userId).ConfigureAwait(false)).Length > 0;
    }

    /// <inheritdoc />
    public IDisposable Subscribe(Func<WebSocketPresenceChange, ValueTask> handler) => _subscribers.Add(handler);

    /// <inheritdoc />
    public ValueTask ConnectedAsync(WebSocketPresenceMember member, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(member);
        if (member.UserId is null)
        {
            return default;
        }

        _local.GetOrAdd(member.ConnectionId, static (_, m) => new LocalConnection(m), member);
        return RunAsync(RedisPresenceScripts.Connect, member.ConnectionId, member.UserId);
    }

    /// <inheritdoc />
    public ValueTask DisconnectedAsync(WebSocketPresenceMember member, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(member);
        _local.TryRemove(member.ConnectionId, out _);
        return RunAsync(RedisPresenceScripts.Disconnect, member.ConnectionId);
    }

    /// <inheritdoc />
    public ValueTask JoinedAsync(string group, WebSocketPresenceMember member, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(member);
        LocalConnection local = _local.GetOrAdd(member.ConnectionId, static (_, m) => new LocalConnection(m), member);
        lock (local)
        {
            local.Groups.Add(group);
        }

        return RunAsync(RedisPresenceScripts.Join, member.ConnectionId, member.UserId ?? string.Empty, group);
    }

    /// <inheritdoc />
    public ValueTask LeftAsync(string group, WebSocketPresenceMember member, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(member);
        if (_local.TryGetValue(member.ConnectionId, out LocalConnection? local))
        {
            lock (local)
            {
                local.Groups.Remove(group);
            }
        }

        return RunAsync(RedisPresenceScripts.Leave, member.ConnectionId, member.UserId ?? string.Empty, group);
    }

    /// <summary>Connects, subscribes to notifications, registers this node with a first heartbeat and starts beating.</summary>
    /// <param name="cancellationToken">Stops waiting for the connection.</param>
    /// <returns>A task that completes when started (also when Redis is down: it keeps retrying).</returns>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        ConfigurationOptions configuration = ConfigurationOptions.Parse(_options.Configuration);
        configuration.AbortOnConnectFail = false;
        configuration.ClientName ??= "aspnetwebsockets-presence-" + _nodeId[..8];
        _redis = await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
        ChannelMessageQueue queue = await _redis.GetSubscriber()
            .SubscribeAsync(RedisChannel.Literal(_options.KeyPrefix + ":presence")).ConfigureAwait(false);
        queue.OnMessage(OnNotificationAsync); // one at a time, in publishing order
        _queue = queue;
        await BeatAsync().ConfigureAwait(false);
        _stopping = new CancellationTokenSource();
        _heartbeats = HeartbeatLoopAsync(_stopping.Token);
    }

    /// <summary>Stops beating and removes this node's members (a graceful goodbye: other nodes are notified at once).</summary>
    /// <param name="cancellationToken">Unused.</param>
    /// <returns>A task that completes when stopped.</returns>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping is { } stopping)
        {
            await stopping.CancelAsync().ConfigureAwait(false);
            await (_heartbeats ?? Task.CompletedTask).ConfigureAwait(false);
            await RunAsync(RedisPresenceScripts.Goodbye).ConfigureAwait(false);
        }

        await DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Closes the connection without saying goodbye (other nodes forget this one after <see cref="RedisPresenceOptions.NodeTimeout"/>).</summary>
    /// <returns>A task that completes when disconnected.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopping, null) is { } stopping)
        {
            await stopping.CancelAsync().ConfigureAwait(false);
            await (_heartbeats ?? Task.CompletedTask).ConfigureAwait(false);
            stopping.Dispose();
        }

        _queue = null;
        if (Interlocked.Exchange(ref _redis, null) is { } redis)
        {
            await redis.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
            await redis.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task HeartbeatLoopAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(_options.HeartbeatInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                await BeatAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    private async Task BeatAsync()
    {
        RedisResult? fresh = await EvaluateAsync(RedisPresenceScripts.Heartbeat, _timeoutMs, _options.SweepBatchSize.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
        if (fresh is null)
        {
            return;
        }

        if ((long)fresh == 1 && _registered)
        {
            // Other nodes declared this one dead (it was cut off longer than NodeTimeout) and removed its entries.
            LogReRegistering(_logger, _nodeId, _local.Count);
            foreach (LocalConnection local in _local.Values)
            {
                WebSocketPresenceMember m = local.Member;
                if (m.UserId is not null)
                {
                    await RunAsync(RedisPresenceScripts.Connect, m.ConnectionId, m.UserId).ConfigureAwait(false);
                }

                string[] groups;
                lock (local)
                {
                    groups = [.. local.Groups];
                }

                foreach (string group in groups)
                {
                    await RunAsync(RedisPresenceScripts.Join, m.ConnectionId, m.UserId ?? string.Empty, group).ConfigureAwait(false);
                }
            }
        }

        _registered = true;
    }

    private async ValueTask<RedisValue[]> LiveAsync(string keySuffix)
    {
        IDatabase database = (_redis ?? throw new InvalidOperationException("Redis presence is not started.")).GetDatabase();
        RedisResult result = await database.ScriptEvaluateAsync(RedisPresenceScripts.LiveMembers, values: [_prefix, keySuffix, _timeoutMs]).ConfigureAwait(false);
        return (RedisValue[])result!;
    }

    private async ValueTask RunAsync(string script, params RedisValue[] arguments) =>
        await EvaluateAsync(script, arguments).ConfigureAwait(false);

    /// <summary>Runs a change script with (prefix, node, arguments...); logs and returns null on failure.</summary>
    private async Task<RedisResult?> EvaluateAsync(string script, params RedisValue[] arguments)
    {
        if (_redis is not { } redis)
        {
            return null;
        }

        RedisValue[] values = [_prefix, _nodeId, .. arguments];
        try
        {
            // ScriptEvaluateAsync sends EVALSHA once the script is cached, falling back to EVAL.
            return await redis.GetDatabase().ScriptEvaluateAsync(script, values: values).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogFailed(_logger, e);
            return null;
        }
    }

    private async Task OnNotificationAsync(ChannelMessage message)
    {
        if (!TryParse(message.Message.ToString(), out WebSocketPresenceChange? change))
        {
            LogMalformed(_logger);
            return;
        }

        await _subscribers.NotifyAsync(change!).ConfigureAwait(false);
    }

    /// <summary>Parses "K{connLen}:{userLen}:{conn}{user}{group}" as published by the scripts.</summary>
    internal static bool TryParse(string text, out WebSocketPresenceChange? change)
    {
        change = null;
        if (text.Length < 5)
        {
            return false;
        }

        WebSocketPresenceChangeKind kind;
        switch (text[0])
        {
            case 'J': kind = WebSocketPresenceChangeKind.Joined; break;
            case 'L': kind = WebSocketPresenceChangeKind.Left; break;
            case 'O': kind = WebSocketPresenceChangeKind.UserOnline; break;
            case 'F': kind = WebSocketPresenceChangeKind.UserOffline; break;
            default: return false;
        }

        int first = text.IndexOf(':', 1);
        int second = first < 0 ? -1 : text.IndexOf(':', first + 1);
        if (second < 0
            || !int.TryParse(text.AsSpan(1, first - 1), NumberStyles.None, CultureInfo.InvariantCulture, out int connLength)
            || !int.TryParse(text.AsSpan(first + 1, second - first - 1), NumberStyles.None, CultureInfo.InvariantCulture, out int userLength)
            || connLength == 0)
        {
            return false;
        }

        // Lengths from Lua are in UTF-8 bytes (a user id may be any text), so the fields are cut from the bytes.
        byte[] utf8 = System.Text.Encoding.UTF8.GetBytes(text[(second + 1)..]);
        if (utf8.Length < connLength + userLength)
        {
            return false;
        }

        string conn = System.Text.Encoding.UTF8.GetString(utf8, 0, connLength);
        string user = System.Text.Encoding.UTF8.GetString(utf8, connLength, userLength);
        string group = System.Text.Encoding.UTF8.GetString(utf8, connLength + userLength, utf8.Length - connLength - userLength);
        bool isGroup = kind is WebSocketPresenceChangeKind.Joined or WebSocketPresenceChangeKind.Left;
        change = new WebSocketPresenceChange(kind, isGroup ? group : null, new WebSocketPresenceMember(conn, user.Length == 0 ? null : user));
        return true;
    }

    [LoggerMessage(210, LogLevel.Warning, "Redis presence could not record a change or beat; it is retried at the next change or heartbeat.", EventName = "RedisPresenceFailed")]
    private static partial void LogFailed(ILogger logger, Exception exception);

    [LoggerMessage(211, LogLevel.Warning, "Redis presence ignored a malformed notification.", EventName = "RedisPresenceMalformed")]
    private static partial void LogMalformed(ILogger logger);

    [LoggerMessage(212, LogLevel.Warning, "Redis presence: node {NodeId} had been declared dead by the others; re-registering its {Count} connection(s).", EventName = "RedisPresenceReRegistering")]
    private static partial void LogReRegistering(ILogger logger, string nodeId, int count);

    private sealed class LocalConnection(WebSocketPresenceMember member)
    {
        public WebSocketPresenceMember Member { get; } = member;

        public HashSet<string> Groups { get; } = new(StringComparer.Ordinal);
    }
}
