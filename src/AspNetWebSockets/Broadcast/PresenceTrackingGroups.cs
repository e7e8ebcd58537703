using System.Net.WebSockets;

namespace AspNetWebSockets.Broadcast;

/// <summary>
/// The <see cref="IWebSocketGroups"/> applications get: the in-process groups, with every join and leave also recorded in
/// <see cref="IWebSocketPresenceTracker"/> (a closing connection leaves presence through the connection registry).
/// Broadcasts and queries go straight to the groups.
/// </summary>
internal sealed class PresenceTrackingGroups(WebSocketGroups groups, WebSocketConnectionRegistry registry, IWebSocketPresenceTracker presence) : IWebSocketGroups
{
    public async ValueTask AddAsync(WebSocketConnection connection, string group, CancellationToken cancellationToken = default)
    {
        await groups.AddAsync(connection, group, cancellationToken).ConfigureAwait(false);
        if (connection.ReadyState != WebSocketReadyState.Open)
        {
            return; // closed: not added, and presence already forgot it
        }

        WebSocketPresenceMember member = registry.MemberOf(connection);
        await presence.JoinedAsync(group, member, cancellationToken).ConfigureAwait(false);
        if (connection.ReadyState is WebSocketReadyState.Closed)
        {
            // Closed while the join was being recorded: its disconnect may have been recorded first.
            await presence.LeftAsync(group, member, CancellationToken.None).ConfigureAwait(false);
        }
    }

    public async ValueTask RemoveAsync(WebSocketConnection connection, string group, CancellationToken cancellationToken = default)
    {
        await groups.RemoveAsync(connection, group, cancellationToken).ConfigureAwait(false);
        await presence.LeftAsync(group, registry.MemberOf(connection), cancellationToken).ConfigureAwait(false);
    }

    public ValueTask SendToGroupAsync(string group, string text, WebSocketConnection? except = null, CancellationToken cancellationToken = default) =>
        groups.SendToGroupAsync(group, text, except, cancellationToken);

    public ValueTask SendToGroupAsync(string group, ReadOnlyMemory<byte> data, WebSocketMessageType messageType, WebSocketConnection? except = null, CancellationToken cancellationToken = default) =>
        groups.SendToGroupAsync(group, data, messageType, except, cancellationToken);

    public ValueTask SendToAllAsync(string text, WebSocketConnection? except = null, CancellationToken cancellationToken = default) =>
        groups.SendToAllAsync(text, except, cancellationToken);

    public ValueTask SendToAllAsync(ReadOnlyMemory<byte> data, WebSocketMessageType messageType, WebSocketConnection? except = null, CancellationToken cancellationToken = default) =>
        groups.SendToAllAsync(data, messageType, except, cancellationToken);

    public IReadOnlyList<WebSocketConnection> GetLocalMembers(string group) => groups.GetLocalMembers(group);

    public IReadOnlyList<string> GetGroups(WebSocketConnection connection) => groups.GetGroups(connection);
}
