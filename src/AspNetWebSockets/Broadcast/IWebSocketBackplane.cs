using System.Net.WebSockets;

namespace AspNetWebSockets;

/// <summary>
/// Carries group and "all" broadcasts between the nodes of an app (Redis pub/sub in <c>AspNetWebSockets.Redis</c>). The
/// default, <see cref="InMemoryWebSocketBackplane"/>, is a single node: it carries nothing.
/// </summary>
/// <remarks>
/// The sending node delivers to its own members itself, so an implementation must not hand a node's own messages back to it
/// (tag them with a node id). Delivery is at most once: a backplane is a fan-out, not a queue.
/// </remarks>
public interface IWebSocketBackplane
{
    /// <summary>Publishes a broadcast to the other nodes.</summary>
    /// <param name="message">The broadcast.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the message has been handed to the transport (not when other nodes have it).</returns>
    ValueTask PublishAsync(WebSocketBackplaneMessage message, CancellationToken cancellationToken = default);

    /// <summary>Sets the receiver of broadcasts from other nodes; the groups service calls this once. Messages must be handed over in the order they were published by each node.</summary>
    /// <param name="receiver">Called for each message from another node, one at a time.</param>
    void SetReceiver(Func<WebSocketBackplaneMessage, ValueTask> receiver);

    /// <summary>
    /// Publishes a message for a connection, a user, a group or all (<see cref="IWebSocketSender"/>) to the other nodes, in
    /// the same order as this node's other publications. The default does nothing (a single node).
    /// </summary>
    /// <param name="message">The message and its target.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the message has been handed to the transport.</returns>
    ValueTask PublishAddressedAsync(WebSocketAddressedMessage message, CancellationToken cancellationToken = default) => default;

    /// <summary>Sets the receiver of addressed messages from other nodes; the sender service calls this once. The default ignores it.</summary>
    /// <param name="receiver">Called for each message from another node, one at a time, in each node's publishing order.</param>
    void SetAddressedReceiver(Func<WebSocketAddressedMessage, ValueTask> receiver)
    {
    }
}

/// <summary>A broadcast as it travels between nodes.</summary>
/// <param name="Group">The group, or null for "all".</param>
/// <param name="MessageType">Text or binary.</param>
/// <param name="Payload">The message.</param>
public sealed record WebSocketBackplaneMessage(string? Group, WebSocketMessageType MessageType, ReadOnlyMemory<byte> Payload);

/// <summary>The single-node backplane: publishing is a no-op and nothing is ever received.</summary>
public sealed class InMemoryWebSocketBackplane : IWebSocketBackplane
{
    /// <inheritdoc />
    public ValueTask PublishAsync(WebSocketBackplaneMessage message, CancellationToken cancellationToken = default) => default;

    /// <inheritdoc />
    public void SetReceiver(Func<WebSocketBackplaneMessage, ValueTask> receiver)
    {
    }
}
