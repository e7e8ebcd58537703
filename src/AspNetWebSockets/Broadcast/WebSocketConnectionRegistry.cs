using System.Collections.Concurrent;
using System.Security.Claims;

namespace AspNetWebSockets.Broadcast;

/// <summary>
/// This node's open connections by id and by user, for <see cref="IWebSocketSender"/>. Filled by the hosting layer's
/// connection listener at the upgrade; an entry leaves when its connection closes.
/// </summary>
/// <remarks>
/// Lookups are lock-free and allocate nothing: a user's connections are an array replaced (copy-on-write, under a lock per
/// node) when one joins or leaves, since sends to a user are far more frequent than a user's connects.
/// </remarks>
internal sealed class WebSocketConnectionRegistry(IWebSocketUserIdProvider userIds, IWebSocketPresenceTracker presence)
{
    private readonly ConcurrentDictionary<string, Entry> _byId = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, WebSocketConnection[]> _byUser = new(StringComparer.Ordinal);
    private readonly Lock _usersLock = new();

    /// <summary>Registers an open connection and its user; idempotent. Returns its presence identity.</summary>
    public WebSocketPresenceMember Track(WebSocketConnection connection, ClaimsPrincipal? user)
    {
        if (_byId.TryGetValue(connection.ConnectionId, out Entry? existing) && ReferenceEquals(existing.Connection, connection))
        {
            return existing.Member;
        }

        string? userId = user is null ? null : userIds.GetUserId(user);
        var entry = new Entry(connection, new WebSocketPresenceMember(connection.ConnectionId, userId));

        // A later connection with the same id (e.g. HTTP/2 streams of one TCP connection) takes the id over; the earlier
        // one stays reachable through its user and groups.
        _byId[connection.ConnectionId] = entry;
        if (userId is not null)
        {
            lock (_usersLock)
            {
                WebSocketConnection[] current = _byUser.GetValueOrDefault(userId) ?? [];
                _byUser[userId] = [.. current, connection];
            }
        }

        _ = presence.ConnectedAsync(entry.Member, CancellationToken.None).AsTask();

        // Runs at once if the connection closed meanwhile.
        entry.Registration = connection.ConnectionClosed.Register(static state =>
        {
            var (self, e) = ((WebSocketConnectionRegistry, Entry))state!;
            self.Untrack(e);
        }, (this, entry));
        return entry.Member;
    }

    /// <summary>The presence identity of a tracked connection, or one without a user for an untracked one.</summary>
    public WebSocketPresenceMember MemberOf(WebSocketConnection connection) =>
        _byId.TryGetValue(connection.ConnectionId, out Entry? e) && ReferenceEquals(e.Connection, connection)
            ? e.Member
            : Track(connection, user: null);

    public bool TryGetConnection(string connectionId, out WebSocketConnection? connection)
    {
        connection = _byId.TryGetValue(connectionId, out Entry? e) ? e.Connection : null;
        return connection is not null;
    }

    /// <summary>The user's connections on this node (the live array: do not modify).</summary>
    public WebSocketConnection[] GetUserConnections(string userId) => _byUser.GetValueOrDefault(userId) ?? [];

    /// <summary>The user id of a connection on this node, or null.</summary>
    public string? GetUserId(WebSocketConnection connection) =>
        _byId.TryGetValue(connection.ConnectionId, out Entry? e) && ReferenceEquals(e.Connection, connection) ? e.Member.UserId : null;

    private void Untrack(Entry entry)
    {
        _byId.TryRemove(new KeyValuePair<string, Entry>(entry.Connection.ConnectionId, entry));
        if (entry.Member.UserId is { } userId)
        {
            lock (_usersLock)
            {
                WebSocketConnection[] current = _byUser.GetValueOrDefault(userId) ?? [];
                WebSocketConnection[] remaining = Array.FindAll(current, c => !ReferenceEquals(c, entry.Connection));
                if (remaining.Length == 0)
                {
                    _byUser.TryRemove(userId, out _);
                }
                else
                {
                    _byUser[userId] = remaining;
                }
            }
        }

        _ = presence.DisconnectedAsync(entry.Member, CancellationToken.None).AsTask();
        entry.Registration.Dispose();
    }

    private sealed class Entry(WebSocketConnection connection, WebSocketPresenceMember member)
    {
        public WebSocketConnection Connection { get; } = connection;

        public WebSocketPresenceMember Member { get; } = member;

        public CancellationTokenRegistration Registration { get; set; }
    }
}
