using System.Net.WebSockets;

namespace AspNetWebSockets.Compatibility;

/// <summary>
/// A <see cref="WebSocket"/> over a <see cref="WebSocketConnection"/>, behaving like the framework's ManagedWebSocket
/// where applications can observe it: message types and <c>EndOfMessage</c>, <c>CloseStatus</c>/<c>CloseStatusDescription</c>,
/// the <c>CloseReceived</c>/<c>CloseSent</c>/<c>Closed</c>/<c>Aborted</c> states, <c>CloseOutputAsync</c> versus
/// <c>CloseAsync</c>, and <see cref="WebSocketException"/> on use in an invalid state.
/// </summary>
internal sealed class ConnectionWebSocket : WebSocket
{
    private readonly WebSocketConnection _connection;
    private WebSocketMessageWriter? _writer;
    private bool _closeReceived;
    private bool _closeSent;
    private bool _aborted;
    private bool _disposed;
    private WebSocketCloseStatus? _closeStatus;
    private string? _closeDescription;

    public ConnectionWebSocket(WebSocketConnection connection) => _connection = connection;

    public override WebSocketCloseStatus? CloseStatus => _closeStatus;

    public override string? CloseStatusDescription => _closeDescription;

    public override string? SubProtocol => _connection.Protocol.Length == 0 ? null : _connection.Protocol;

    public override WebSocketState State
    {
        get
        {
            if (_aborted)
            {
                return WebSocketState.Aborted;
            }

            if (_connection.ReadyState == WebSocketReadyState.Closed && _connection.Closed.Result is { WasClean: false, Code: WebSocketCloseCode.AbnormalClosure })
            {
                return WebSocketState.Aborted;
            }

            // The connection answers a peer's close at once; the application still sees CloseReceived until it closes too.
            return (_closeReceived, _closeSent) switch
            {
                (true, true) => WebSocketState.Closed,
                (true, false) => WebSocketState.CloseReceived,
                (false, true) => _connection.ReadyState == WebSocketReadyState.Closed ? WebSocketState.Closed : WebSocketState.CloseSent,
                _ => _connection.ReadyState == WebSocketReadyState.Closed ? WebSocketState.Closed : WebSocketState.Open,
            };
        }
    }

    public override void Abort()
    {
        _aborted = true;
        _connection.Abort();
    }

    public override async Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken)
    {
        ThrowIfInvalid(WebSocketState.Open, WebSocketState.CloseReceived, WebSocketState.CloseSent);
        _closeSent = true;
        await _connection.CloseAsync((int)closeStatus, statusDescription, cancellationToken).ConfigureAwait(false);
        RecordPeerClose();
    }

    public override async Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken)
    {
        ThrowIfInvalid(WebSocketState.Open, WebSocketState.CloseReceived);
        _closeSent = true;
        await _connection.CloseOutputAsync((int)closeStatus, statusDescription).ConfigureAwait(false);
    }

    public override void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_connection.ReadyState != WebSocketReadyState.Closed)
        {
            _aborted = true;
            _connection.Abort();
        }
    }

    public override async Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken)
    {
        ValueWebSocketReceiveResult result = await ReceiveAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
        return result.MessageType == WebSocketMessageType.Close
            ? new WebSocketReceiveResult(0, WebSocketMessageType.Close, endOfMessage: true, _closeStatus, _closeDescription)
            : new WebSocketReceiveResult(result.Count, result.MessageType, result.EndOfMessage);
    }

    public override async ValueTask<ValueWebSocketReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        ThrowIfInvalid(WebSocketState.Open, WebSocketState.CloseSent);
        ValueWebSocketReceiveResult result = await _connection.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (result.MessageType != WebSocketMessageType.Close)
        {
            return result;
        }

        WebSocketCloseInfo closed = await _connection.Closed.ConfigureAwait(false);
        if (!closed.WasClean && closed.Code == WebSocketCloseCode.AbnormalClosure)
        {
            _aborted = true;
            throw new WebSocketException(WebSocketError.ConnectionClosedPrematurely, "The remote party closed the WebSocket connection without completing the close handshake.");
        }

        RecordPeerClose();
        return result;
    }

    public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken) =>
        SendAsync(buffer.AsMemory(), messageType, endOfMessage, cancellationToken).AsTask();

    public override async ValueTask SendAsync(ReadOnlyMemory<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken)
    {
        ThrowIfInvalid(WebSocketState.Open, WebSocketState.CloseReceived);
        if (messageType is not (WebSocketMessageType.Text or WebSocketMessageType.Binary))
        {
            throw new ArgumentException("The message type must be Text or Binary; use CloseAsync to close.", nameof(messageType));
        }

        if (_writer is null && endOfMessage)
        {
            await _connection.SendAsync(buffer, messageType, cancellationToken).ConfigureAwait(false);
            return;
        }

        _writer ??= await _connection.BeginMessageAsync(messageType, cancellationToken).ConfigureAwait(false);
        if (endOfMessage)
        {
            WebSocketMessageWriter writer = _writer;
            _writer = null;
            await writer.CompleteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await _writer.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
    }

    private void RecordPeerClose()
    {
        if (_connection.Closed.IsCompletedSuccessfully && !_closeReceived)
        {
            WebSocketCloseInfo closed = _connection.Closed.Result;
            _closeReceived = true;
            _closeStatus = closed.Code == WebSocketCloseCode.NoStatusReceived ? WebSocketCloseStatus.Empty : (WebSocketCloseStatus)closed.Code;
            _closeDescription = closed.Reason;
        }
    }

    private void ThrowIfInvalid(params WebSocketState[] valid)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        WebSocketState state = State;
        if (Array.IndexOf(valid, state) < 0)
        {
            throw new WebSocketException(WebSocketError.InvalidState, $"The WebSocket is in an invalid state ('{state}') for this operation. Valid states are: '{string.Join(", ", valid)}'");
        }
    }
}
