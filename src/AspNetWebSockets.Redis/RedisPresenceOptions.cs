namespace AspNetWebSockets.Redis;

/// <summary>Settings of Redis presence (<c>AddRedisPresence(configuration, o => ...)</c>).</summary>
public sealed class RedisPresenceOptions
{
    /// <summary>The StackExchange.Redis configuration string, e.g. <c>127.0.0.1:6379</c>; <c>abortConnect=false</c> is applied.</summary>
    public string Configuration { get; set; } = "localhost:6379";

    /// <summary>Prefix of every key and of the notification channel, so apps can share a Redis. Default <c>aspnetwebsockets</c>.</summary>
    public string KeyPrefix { get; set; } = "aspnetwebsockets";

    /// <summary>How often this node proves it is alive (one script call). Default 5 s.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A node not heard from for this long is dead: its members vanish from queries at once, and the next heartbeat of any
    /// live node removes them and notifies <c>Left</c>/<c>UserOffline</c>. Must exceed <see cref="HeartbeatInterval"/>
    /// (3× is the default ratio, so one late heartbeat is not a death). Default 15 s.
    /// </summary>
    public TimeSpan NodeTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Connections of a dead node removed per heartbeat (bounds the time one script holds Redis). Default 1000.</summary>
    public int SweepBatchSize { get; set; } = 1000;
}
