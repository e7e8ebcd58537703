namespace AspNetWebSockets;

/// <summary>
/// Who is connected, across every node: the members of a group and whether a user is online, plus notifications when
/// that changes. In-memory (this node only) by default; <c>AddRedisPresence</c> in <c>AspNetWebSockets.Redis</c> makes it
/// span nodes, with a bounded time for a dead node's members to disappear.
/// </summary>
/// <remarks>
/// Fed by <see cref="IWebSocketGroups"/> (joins and leaves, and every group of a connection when it closes) and by the
/// connection registry (a user is online while at least one of their connections is open). Presence is eventually
/// consistent: a query right after a join on another node may not see it yet.
/// </remarks>
public interface IWebSocketPresence
{
    /// <summary>The members of a group on every live node (a snapshot, in no particular order).</summary>
    /// <param name="group">The group's name.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The members; empty when the group has none.</returns>
    ValueTask<IReadOnlyList<WebSocketPresenceMember>> GetGroupMembersAsync(string group, CancellationToken cancellationToken = default);

    /// <summary>Whether the user has at least one open connection on a live node.</summary>
    /// <param name="userId">The user id (see <see cref="IWebSocketUserIdProvider"/>).</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>True when online.</returns>
    ValueTask<bool> IsUserOnlineAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Calls <paramref name="handler"/> for every change on any node (each node's subscribers see every change once),
    /// one at a time. Exceptions from the handler are logged and do not stop later notifications.
    /// </summary>
    /// <param name="handler">The handler.</param>
    /// <returns>Dispose it to unsubscribe.</returns>
    IDisposable Subscribe(Func<WebSocketPresenceChange, ValueTask> handler);
}

/// <summary>
/// The write side of presence, called by the groups service and the connection registry. Implementations log and swallow
/// their own failures (a presence store being down must not fail a join or a close).
/// </summary>
public interface IWebSocketPresenceTracker
{
    /// <summary>A connection opened.</summary>
    /// <param name="member">The connection and its user.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when recorded.</returns>
    ValueTask ConnectedAsync(WebSocketPresenceMember member, CancellationToken cancellationToken = default);

    /// <summary>A connection closed: it leaves every group it was in, and its user goes offline if it was the last.</summary>
    /// <param name="member">The connection and its user.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when recorded.</returns>
    ValueTask DisconnectedAsync(WebSocketPresenceMember member, CancellationToken cancellationToken = default);

    /// <summary>A connection joined a group (idempotent: a second join changes and notifies nothing).</summary>
    /// <param name="group">The group.</param>
    /// <param name="member">The connection and its user.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when recorded.</returns>
    ValueTask JoinedAsync(string group, WebSocketPresenceMember member, CancellationToken cancellationToken = default);

    /// <summary>A connection left a group (no-op when it was not a member).</summary>
    /// <param name="group">The group.</param>
    /// <param name="member">The connection and its user.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when recorded.</returns>
    ValueTask LeftAsync(string group, WebSocketPresenceMember member, CancellationToken cancellationToken = default);
}

/// <summary>A connection as presence knows it.</summary>
/// <param name="ConnectionId">Its <see cref="WebSocketConnection.ConnectionId"/>.</param>
/// <param name="UserId">Its user, or null when anonymous.</param>
public sealed record WebSocketPresenceMember(string ConnectionId, string? UserId);

/// <summary>What changed.</summary>
public enum WebSocketPresenceChangeKind
{
    /// <summary>A connection joined <see cref="WebSocketPresenceChange.Group"/>.</summary>
    Joined,

    /// <summary>A connection left <see cref="WebSocketPresenceChange.Group"/> (or closed, or its node died).</summary>
    Left,

    /// <summary>A user's first connection opened.</summary>
    UserOnline,

    /// <summary>A user's last connection closed (or its node died).</summary>
    UserOffline,
}

/// <summary>A presence notification.</summary>
/// <param name="Kind">What changed.</param>
/// <param name="Group">The group for <see cref="WebSocketPresenceChangeKind.Joined"/>/<see cref="WebSocketPresenceChangeKind.Left"/>, else null.</param>
/// <param name="Member">The connection and user concerned.</param>
public sealed record WebSocketPresenceChange(WebSocketPresenceChangeKind Kind, string? Group, WebSocketPresenceMember Member);
