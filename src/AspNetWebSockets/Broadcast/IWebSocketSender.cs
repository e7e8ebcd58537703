using System.Net.WebSockets;

namespace AspNetWebSockets;

/// <summary>
/// Sends to a connection, a user, a group or everyone, on whatever node they are connected: injectable anywhere
/// (controllers, minimal APIs, background services, other WebSocket handlers). Registered by <c>AddWebSocketGroups</c>;
/// in-memory by default, across nodes with a backplane (<c>.AddRedisBackplane(...)</c>).
/// </summary>
/// <remarks>
/// <para><b>Delivery is at most once.</b> A message reaches each addressee connected at the time, once, or not at all: a
/// connection that closes meanwhile, a member over its outbound budget (<see cref="WebSocketGroupsOptions.SlowMemberPolicy"/>)
/// or a node cut off from the backplane misses it, and nothing is retried or replayed.</para>
/// <para><b>Order</b>: messages sent one after another from one node (awaiting each call) reach every addressee in that order,
/// whatever the target kind, locally and through the backplane. Messages from different nodes are not ordered.</para>
/// <para>A message is framed once on the sending node and once on each receiving node, and the same bytes are written to
/// every local addressee. A send to a connection id found on this node does not touch the backplane; every other target
/// is published once to all nodes, each of which delivers to its own connections.</para>
/// </remarks>
public interface IWebSocketSender
{
    /// <summary>Sends a prepared message.</summary>
    /// <param name="target">Who gets it.</param>
    /// <param name="message">The message, framed once; may be sent again.</param>
    /// <param name="cancellationToken">Stops waiting for the backplane.</param>
    /// <returns>A task that completes when the message is queued for every local addressee and handed to the backplane, not when delivered.</returns>
    ValueTask SendAsync(WebSocketTarget target, WebSocketPreparedMessage message, CancellationToken cancellationToken = default);

    /// <summary>Sends a text message.</summary>
    /// <param name="target">Who gets it.</param>
    /// <param name="text">Well-formed UTF-16.</param>
    /// <param name="cancellationToken">Stops waiting for the backplane.</param>
    /// <returns>A task that completes when the message is queued locally and handed to the backplane.</returns>
    ValueTask SendAsync(WebSocketTarget target, string text, CancellationToken cancellationToken = default);

    /// <summary>Sends a text (valid UTF-8) or binary message; the payload is copied once, so the caller may reuse it.</summary>
    /// <param name="target">Who gets it.</param>
    /// <param name="data">The payload.</param>
    /// <param name="messageType">Text or binary.</param>
    /// <param name="cancellationToken">Stops waiting for the backplane.</param>
    /// <returns>A task that completes when the message is queued locally and handed to the backplane.</returns>
    ValueTask SendAsync(WebSocketTarget target, ReadOnlyMemory<byte> data, WebSocketMessageType messageType, CancellationToken cancellationToken = default);

    /// <summary>The user id of a connection open on this node (see <see cref="IWebSocketUserIdProvider"/>), or null.</summary>
    /// <param name="connection">The connection.</param>
    /// <returns>The user id, or null when anonymous or not open here.</returns>
    string? GetUserId(WebSocketConnection connection);
}
