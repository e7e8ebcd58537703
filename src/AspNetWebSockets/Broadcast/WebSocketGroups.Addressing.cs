namespace AspNetWebSockets;

/// <summary>Delivery entry points for <see cref="IWebSocketSender"/>: the same frame sharing and slow-member policy as broadcasts.</summary>
internal sealed partial class WebSocketGroups
{
    /// <summary>Starts the send of a prepared message to one local connection, never waiting for it.</summary>
    internal void DeliverTo(WebSocketConnection connection, Protocol.PreparedMessage message) => SendToMember(connection, message, except: null);

    /// <summary>Starts the sends to a group's local members, or to every local connection when <paramref name="target"/> is All, minus its excepted ids.</summary>
    internal void DeliverTo(in WebSocketTarget target, Protocol.PreparedMessage message) =>
        DeliverLocal(target.Kind == WebSocketTargetKind.All ? null : target.Name, message, except: null, target);
}
