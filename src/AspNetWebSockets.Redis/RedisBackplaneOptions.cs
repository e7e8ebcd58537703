namespace AspNetWebSockets.Redis;

/// <summary>Settings of the Redis backplane (<c>AddRedisBackplane(configuration, o => ...)</c>).</summary>
public sealed class RedisBackplaneOptions
{
    /// <summary>
    /// The StackExchange.Redis configuration string, e.g. <c>127.0.0.1:6379</c> or <c>redis1:6379,password=…</c>.
    /// <c>abortConnect=false</c> is applied so the app starts, and keeps retrying, while Redis is down.
    /// </summary>
    public string Configuration { get; set; } = "localhost:6379";

    /// <summary>
    /// Prefix of every channel name, so several apps can share one Redis: group broadcasts go to
    /// <c>{ChannelPrefix}:group:{name}</c> and "all" broadcasts to <c>{ChannelPrefix}:all</c>. Default <c>aspnetwebsockets</c>.
    /// </summary>
    public string ChannelPrefix { get; set; } = "aspnetwebsockets";
}
