namespace AspNetWebSockets.Redis;

/// <summary>
/// The Lua scripts behind <see cref="RedisWebSocketPresence"/>: each change is one atomic script call (one round trip) that
/// updates the hashes and indexes and publishes the notification only if something changed. Times come from Redis's own
/// clock (<c>TIME</c>), so nodes' clocks do not matter.
/// </summary>
/// <remarks>
/// Keys under prefix P: <c>P:presence:nodes</c> (sorted set: node id → last heartbeat, ms), <c>P:presence:group:{g}</c>
/// (hash: connection id → node id "\n" user id), <c>P:presence:user:{u}</c> (hash: connection id → node id),
/// <c>P:presence:conn:{c}</c> (set: "g\n{group}" and "u\n{user}" entries of one connection) and <c>P:presence:node:{n}</c>
/// (set: the node's connection ids). Keys are built inside the scripts, so this is for a single Redis (or a primary with
/// replicas), not Redis Cluster.
/// </remarks>
internal static class RedisPresenceScripts
{
    // Shared Lua: the event encoding ("K{connLen}:{userLen}:{conn}{user}{group}") and the removal of one connection.
    private const string Common = """
        local P = ARGV[1]
        local function publish(kind, conn, user, group)
          redis.call('PUBLISH', P .. ':presence', kind .. #conn .. ':' .. #user .. ':' .. conn .. user .. (group or ''))
        end
        local function remove_connection(conn, node)
          local entries = redis.call('SMEMBERS', P .. ':presence:conn:' .. conn)
          for _, e in ipairs(entries) do
            local kind, name = string.sub(e, 1, 1), string.sub(e, 3)
            if kind == 'g' then
              local key = P .. ':presence:group:' .. name
              local v = redis.call('HGET', key, conn)
              if v then
                redis.call('HDEL', key, conn)
                local nl = string.find(v, '\n', 1, true)
                publish('L', conn, nl and string.sub(v, nl + 1) or '', name)
              end
            else
              local key = P .. ':presence:user:' .. name
              if redis.call('HDEL', key, conn) == 1 and redis.call('HLEN', key) == 0 then
                publish('F', conn, name, nil)
              end
            end
          end
          redis.call('DEL', P .. ':presence:conn:' .. conn)
          redis.call('SREM', P .. ':presence:node:' .. node, conn)
        end
        local function now_ms()
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end
        """ + "\n"; // a raw literal drops its last newline; the scripts appended to it start on a line of their own

    /// <summary>ARGV: prefix, node, connection, user ('' = none), group.</summary>
    public const string Join = Common + """
        local node, conn, user, group = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
        local added = redis.call('HSET', P .. ':presence:group:' .. group, conn, node .. '\n' .. user)
        redis.call('SADD', P .. ':presence:conn:' .. conn, 'g\n' .. group)
        redis.call('SADD', P .. ':presence:node:' .. node, conn)
        if added == 1 then publish('J', conn, user, group) end
        return added
        """;

    /// <summary>ARGV: prefix, node, connection, user ('' = none), group.</summary>
    public const string Leave = Common + """
        local conn, user, group = ARGV[3], ARGV[4], ARGV[5]
        local removed = redis.call('HDEL', P .. ':presence:group:' .. group, conn)
        redis.call('SREM', P .. ':presence:conn:' .. conn, 'g\n' .. group)
        if removed == 1 then publish('L', conn, user, group) end
        return removed
        """;

    /// <summary>ARGV: prefix, node, connection, user.</summary>
    public const string Connect = Common + """
        local node, conn, user = ARGV[2], ARGV[3], ARGV[4]
        local key = P .. ':presence:user:' .. user
        local added = redis.call('HSET', key, conn, node)
        redis.call('SADD', P .. ':presence:conn:' .. conn, 'u\n' .. user)
        redis.call('SADD', P .. ':presence:node:' .. node, conn)
        if added == 1 and redis.call('HLEN', key) == 1 then publish('O', conn, user, nil) end
        return added
        """;

    /// <summary>ARGV: prefix, node, connection.</summary>
    public const string Disconnect = Common + """
        remove_connection(ARGV[3], ARGV[2])
        return 1
        """;

    /// <summary>
    /// ARGV: prefix, node, timeout ms, sweep batch. Refreshes this node, then removes up to a batch of connections of each
    /// dead node. Returns 1 when this node was not registered (first beat, or it had been declared dead: re-register).
    /// </summary>
    public const string Heartbeat = Common + """
        local node, timeout, batch = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
        local now = now_ms()
        local nodes = P .. ':presence:nodes'
        local fresh = redis.call('ZADD', nodes, now, node)
        local dead = redis.call('ZRANGEBYSCORE', nodes, '-inf', now - timeout)
        for _, n in ipairs(dead) do
          local conns = redis.call('SPOP', P .. ':presence:node:' .. n, batch)
          for _, c in ipairs(conns) do remove_connection(c, n) end
          if redis.call('SCARD', P .. ':presence:node:' .. n) == 0 then redis.call('ZREM', nodes, n) end
        end
        return fresh
        """;

    /// <summary>ARGV: prefix, node. A graceful stop: this node's connections go at once.</summary>
    public const string Goodbye = Common + """
        local node = ARGV[2]
        for _, c in ipairs(redis.call('SMEMBERS', P .. ':presence:node:' .. node)) do remove_connection(c, node) end
        redis.call('ZREM', P .. ':presence:nodes', node)
        return 1
        """;

    /// <summary>ARGV: prefix, key suffix ("group:{g}" or "user:{u}"), timeout ms. Returns connection, user pairs on live nodes.</summary>
    public const string LiveMembers = Common + """
        local now, timeout = now_ms(), tonumber(ARGV[3])
        local all = redis.call('HGETALL', P .. ':presence:' .. ARGV[2])
        local alive, result = {}, {}
        for i = 1, #all, 2 do
          local v = all[i + 1]
          local nl = string.find(v, '\n', 1, true)
          local node = nl and string.sub(v, 1, nl - 1) or v
          if alive[node] == nil then
            local score = redis.call('ZSCORE', P .. ':presence:nodes', node)
            alive[node] = score ~= false and score ~= nil and tonumber(score) >= now - timeout
          end
          if alive[node] then
            result[#result + 1] = all[i]
            result[#result + 1] = nl and string.sub(v, nl + 1) or ''
          end
        end
        return result
        """;
}
