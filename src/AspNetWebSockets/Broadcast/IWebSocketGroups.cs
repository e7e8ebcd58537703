using System.Net.WebSockets;

namespace AspNetWebSockets;

/// <summary>
/// Named groups of connections and broadcast to them, injectable into <c>MapWebSocket</c> handlers
/// (<c>services.AddWebSocketGroups()</c>). Thread-safe: joins, leaves and broadcasts may run concurrently.
/// </summary>
/// <remarks>
/// <para>A broadcast frames the message once and writes the same bytes to every member. It never waits for a slow member:
/// each member's send is started and the broadcast moves on; a member whose <see cref="WebSocketConnection.BufferedAmount"/>
/// would exceed <see cref="WebSocketGroupsOptions.MaxBufferedAmountPerMember"/> is handled by
/// <see cref="WebSocketGroupsOptions.SlowMemberPolicy"/> (drop the message for it, or drop it with 1008/1013).</para>
/// <para>With permessage-deflate, members without server context takeover share one compressed frame per broadcast
/// (compressed once, whatever the member count); members with context takeover get the uncompressed frame (legal:
/// compression is chosen per message), so the message is never compressed per member.</para>
/// <para>A connection leaves every group when it closes. Through a backplane (<see cref="IWebSocketBackplane"/>), group and
/// "all" broadcasts also reach members on other nodes; membership itself is per node.</para>
/// </remarks>
public interface IWebSocketGroups
{
    /// <summary>Adds a connection to a group (idempotent). A closed connection is not added.</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="group">The group's name (case-sensitive).</param>
    /// <param name="cancellationToken">Unused by the in-process implementation; for implementations that store membership remotely.</param>
    /// <returns>A task that completes when the connection is a member.</returns>
    ValueTask AddAsync(WebSocketConnection connection, string group, CancellationToken cancellationToken = default);

    /// <summary>Removes a connection from a group (no-op when it is not a member).</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="group">The group's name.</param>
    /// <param name="cancellationToken">Unused by the in-process implementation.</param>
    /// <returns>A task that completes when the connection is no longer a member.</returns>
    ValueTask RemoveAsync(WebSocketConnection connection, string group, CancellationToken cancellationToken = default);

    /// <summary>Sends a text message to every member of a group, on this node and (through the backplane) on others.</summary>
    /// <param name="group">The group's name.</param>
    /// <param name="text">The text (well-formed UTF-16).</param>
    /// <param name="except">A local connection that should not get it (typically the sender), or null.</param>
    /// <param name="cancellationToken">Stops waiting for the backplane.</param>
    /// <returns>A task that completes when the message has been queued for every local member and handed to the backplane; not when members have received it.</returns>
    ValueTask SendToGroupAsync(string group, string text, WebSocketConnection? except = null, CancellationToken cancellationToken = default);

    /// <summary>Sends a text or binary message to every member of a group, on this node and on others.</summary>
    /// <param name="group">The group's name.</param>
    /// <param name="data">The payload (valid UTF-8 for text); copied once, so the caller may reuse it afterwards.</param>
    /// <param name="messageType">Text or binary.</param>
    /// <param name="except">A local connection that should not get it, or null.</param>
    /// <param name="cancellationToken">Stops waiting for the backplane.</param>
    /// <returns>A task that completes when the message has been queued for every local member and handed to the backplane.</returns>
    ValueTask SendToGroupAsync(string group, ReadOnlyMemory<byte> data, WebSocketMessageType messageType, WebSocketConnection? except = null, CancellationToken cancellationToken = default);

    /// <summary>Sends a text message to every connection that is a member of at least one group, on every node.</summary>
    /// <param name="text">The text.</param>
    /// <param name="except">A local connection that should not get it, or null.</param>
    /// <param name="cancellationToken">Stops waiting for the backplane.</param>
    /// <returns>A task that completes when the message has been queued locally and handed to the backplane.</returns>
    ValueTask SendToAllAsync(string text, WebSocketConnection? except = null, CancellationToken cancellationToken = default);

    /// <summary>Sends a text or binary message to every connection that is a member of at least one group, on every node.</summary>
    /// <param name="data">The payload (valid UTF-8 for text).</param>
    /// <param name="messageType">Text or binary.</param>
    /// <param name="except">A local connection that should not get it, or null.</param>
    /// <param name="cancellationToken">Stops waiting for the backplane.</param>
    /// <returns>A task that completes when the message has been queued locally and handed to the backplane.</returns>
    ValueTask SendToAllAsync(ReadOnlyMemory<byte> data, WebSocketMessageType messageType, WebSocketConnection? except = null, CancellationToken cancellationToken = default);

    /// <summary>The group's members on this node (a snapshot).</summary>
    /// <param name="group">The group's name.</param>
    /// <returns>The connections, empty when the group has none here.</returns>
    IReadOnlyList<WebSocketConnection> GetLocalMembers(string group);

    /// <summary>The groups a connection belongs to (a snapshot).</summary>
    /// <param name="connection">The connection.</param>
    /// <returns>The group names, empty when it belongs to none.</returns>
    IReadOnlyList<string> GetGroups(WebSocketConnection connection);
}
