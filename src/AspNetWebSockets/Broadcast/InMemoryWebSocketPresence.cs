using AspNetWebSockets.Broadcast;
using Microsoft.Extensions.Logging;

namespace AspNetWebSockets;

/// <summary>
/// Presence of this node only (the default): group members and online users held in memory, notifications raised in the
/// order changes are recorded. Memory: about one dictionary entry per membership and one per connection with a user.
/// </summary>
public sealed class InMemoryWebSocketPresence : IWebSocketPresence, IWebSocketPresenceTracker
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Dictionary<string, WebSocketPresenceMember>> _groups = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _groupsOfConnection = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _connectionsOfUser = new(StringComparer.Ordinal);
    private readonly WebSocketPresenceSubscribers _subscribers;

    /// <summary>Creates an empty presence.</summary>
    /// <param name="loggerFactory">For failures of notification handlers.</param>
    public InMemoryWebSocketPresence(ILoggerFactory loggerFactory) =>
        _subscribers = new WebSocketPresenceSubscribers(loggerFactory.CreateLogger("AspNetWebSockets.Presence"));

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<WebSocketPresenceMember>> GetGroupMembersAsync(string group, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(group);
        lock (_lock)
        {
            return new(_groups.TryGetValue(group, out var members) ? members.Values.ToArray() : []);
        }
    }

    /// <inheritdoc />
    public ValueTask<bool> IsUserOnlineAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userId);
        lock (_lock)
        {
            return new(_connectionsOfUser.ContainsKey(userId));
        }
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

        bool first;
        lock (_lock)
        {
            if (!_connectionsOfUser.TryGetValue(member.UserId, out HashSet<string>? connections))
            {
                _connectionsOfUser[member.UserId] = connections = new HashSet<string>(StringComparer.Ordinal);
            }

            first = connections.Add(member.ConnectionId) && connections.Count == 1;
        }

        return first ? _subscribers.NotifyAsync(new WebSocketPresenceChange(WebSocketPresenceChangeKind.UserOnline, null, member)) : default;
    }

    /// <inheritdoc />
    public async ValueTask DisconnectedAsync(WebSocketPresenceMember member, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(member);
        var changes = new List<WebSocketPresenceChange>();
        lock (_lock)
        {
            if (_groupsOfConnection.Remove(member.ConnectionId, out HashSet<string>? groups))
            {
                foreach (string group in groups)
                {
                    if (RemoveFromGroup(group, member.ConnectionId) is { } left)
                    {
                        changes.Add(new WebSocketPresenceChange(WebSocketPresenceChangeKind.Left, group, left));
                    }
                }
            }

            if (member.UserId is not null
                && _connectionsOfUser.TryGetValue(member.UserId, out HashSet<string>? connections)
                && connections.Remove(member.ConnectionId)
                && connections.Count == 0)
            {
                _connectionsOfUser.Remove(member.UserId);
                changes.Add(new WebSocketPresenceChange(WebSocketPresenceChangeKind.UserOffline, null, member));
            }
        }

        foreach (WebSocketPresenceChange change in changes)
        {
            await _subscribers.NotifyAsync(change).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public ValueTask JoinedAsync(string group, WebSocketPresenceMember member, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(member);
        bool added;
        lock (_lock)
        {
            if (!_groups.TryGetValue(group, out var members))
            {
                _groups[group] = members = new Dictionary<string, WebSocketPresenceMember>(StringComparer.Ordinal);
            }

            added = members.TryAdd(member.ConnectionId, member);
            if (added)
            {
                if (!_groupsOfConnection.TryGetValue(member.ConnectionId, out HashSet<string>? groups))
                {
                    _groupsOfConnection[member.ConnectionId] = groups = new HashSet<string>(StringComparer.Ordinal);
                }

                groups.Add(group);
            }
        }

        return added ? _subscribers.NotifyAsync(new WebSocketPresenceChange(WebSocketPresenceChangeKind.Joined, group, member)) : default;
    }

    /// <inheritdoc />
    public ValueTask LeftAsync(string group, WebSocketPresenceMember member, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(member);
        WebSocketPresenceMember? left;
        lock (_lock)
        {
            left = RemoveFromGroup(group, member.ConnectionId);
            if (left is not null && _groupsOfConnection.TryGetValue(member.ConnectionId, out HashSet<string>? groups))
            {
                groups.Remove(group);
                if (groups.Count == 0)
                {
                    _groupsOfConnection.Remove(member.ConnectionId);
                }
            }
        }

        return left is not null ? _subscribers.NotifyAsync(new WebSocketPresenceChange(WebSocketPresenceChangeKind.Left, group, left)) : default;
    }

    private WebSocketPresenceMember? RemoveFromGroup(string group, string connectionId)
    {
        if (!_groups.TryGetValue(group, out var members) || !members.Remove(connectionId, out WebSocketPresenceMember? left))
        {
            return null;
        }

        if (members.Count == 0)
        {
            _groups.Remove(group);
        }

        return left;
    }
}
