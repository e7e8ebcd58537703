using System.Net.WebSockets;
using AspNetWebSockets.Protocol;
using Microsoft.Extensions.Logging;

namespace AspNetWebSockets.Broadcast;

/// <summary>The <see cref="IWebSocketSender"/>: local delivery through the groups' send path, remote through the backplane.</summary>
internal sealed partial class WebSocketSender : IWebSocketSender
{
    private readonly WebSocketConnectionRegistry _registry;
    private readonly WebSocketGroups _groups;
    private readonly IWebSocketBackplane _backplane;
    private readonly ILogger _logger;

    public WebSocketSender(WebSocketConnectionRegistry registry, WebSocketGroups groups, IWebSocketBackplane backplane, ILoggerFactory loggerFactory)
    {
        _registry = registry;
        _groups = groups;
        _backplane = backplane;
        _logger = loggerFactory.CreateLogger("AspNetWebSockets.Broadcast");
        backplane.SetAddressedReceiver(DeliverRemoteAsync);
    }

    public ValueTask SendAsync(WebSocketTarget target, WebSocketPreparedMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (target.Kind == default)
        {
            throw new ArgumentException("The target is empty; use WebSocketTarget.Connection, User, Group or All.", nameof(target));
        }

        if (DeliverLocal(target, message.Prepared))
        {
            return default; // a connection id found here: no other node holds it
        }

        return _backplane.PublishAddressedAsync(new WebSocketAddressedMessage(target, message.MessageType, message.Payload), cancellationToken);
    }

    public ValueTask SendAsync(WebSocketTarget target, string text, CancellationToken cancellationToken = default) =>
        SendAsync(target, WebSocketPreparedMessage.Text(text), cancellationToken);

    public ValueTask SendAsync(WebSocketTarget target, ReadOnlyMemory<byte> data, WebSocketMessageType messageType, CancellationToken cancellationToken = default) =>
        SendAsync(target, WebSocketPreparedMessage.Create(data.Span, messageType), cancellationToken);

    public string? GetUserId(WebSocketConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return _registry.GetUserId(connection);
    }

    /// <summary>Delivers to this node's addressees; true when the target was a connection found here.</summary>
    private bool DeliverLocal(in WebSocketTarget target, PreparedMessage message)
    {
        switch (target.Kind)
        {
            case WebSocketTargetKind.Connection:
                if (_registry.TryGetConnection(target.Name!, out WebSocketConnection? connection))
                {
                    _groups.DeliverTo(connection!, message);
                    return true;
                }

                return false;
            case WebSocketTargetKind.User:
                foreach (WebSocketConnection userConnection in _registry.GetUserConnections(target.Name!))
                {
                    _groups.DeliverTo(userConnection, message);
                }

                return false;
            default:
                _groups.DeliverTo(target, message);
                return false;
        }
    }

    private ValueTask DeliverRemoteAsync(WebSocketAddressedMessage message)
    {
        try
        {
            DeliverLocal(message.Target, PreparedMessage.Create(message.Payload.Span, message.MessageType));
        }
        catch (ArgumentException e)
        {
            LogBadRemoteMessage(_logger, e);
        }

        return default;
    }

    [LoggerMessage(111, LogLevel.Warning, "Ignored a malformed addressed message from the backplane.", EventName = "AddressedBadRemoteMessage")]
    private static partial void LogBadRemoteMessage(ILogger logger, Exception exception);
}
