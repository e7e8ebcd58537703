using Microsoft.Extensions.Logging;

namespace AspNetWebSockets;

/// <summary>
/// High-performance log messages (LoggerMessage source generator). Event ids are stable so operators can
/// filter on them. Nothing is logged per message at Information level.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "WebSocket handshake rejected with {StatusCode}: {Reason}.", EventName = "HandshakeRejected")]
    public static partial void HandshakeRejected(ILogger logger, int statusCode, string reason);

    [LoggerMessage(2, LogLevel.Debug, "WebSocket connection {ConnectionId} opened (subprotocol '{SubProtocol}', extensions '{Extensions}').", EventName = "ConnectionOpened")]
    public static partial void ConnectionOpened(ILogger logger, string connectionId, string subProtocol, string extensions);

    [LoggerMessage(3, LogLevel.Debug, "WebSocket connection {ConnectionId} closed with {CloseCode} '{CloseReason}' (clean: {WasClean}) after {DurationMs} ms.", EventName = "ConnectionClosed")]
    public static partial void ConnectionClosed(ILogger logger, string connectionId, int closeCode, string closeReason, bool wasClean, long durationMs);

    [LoggerMessage(4, LogLevel.Information, "WebSocket connection {ConnectionId} failed: {Violation}; closing with {CloseCode}.", EventName = "ProtocolViolation")]
    public static partial void ProtocolViolation(ILogger logger, string connectionId, string violation, int closeCode);

    [LoggerMessage(5, LogLevel.Information, "WebSocket connection {ConnectionId} aborted: no data or pong within the keep-alive timeout of {TimeoutMs} ms.", EventName = "KeepAliveTimeout")]
    public static partial void KeepAliveTimeout(ILogger logger, string connectionId, long timeoutMs);

    [LoggerMessage(6, LogLevel.Information, "WebSocket connection {ConnectionId} aborted: the peer did not complete the close handshake within {TimeoutMs} ms.", EventName = "CloseTimeout")]
    public static partial void CloseTimeout(ILogger logger, string connectionId, long timeoutMs);

    [LoggerMessage(7, LogLevel.Error, "WebSocket handler for connection {ConnectionId} threw; closing with 1011.", EventName = "HandlerFailed")]
    public static partial void HandlerFailed(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(8, LogLevel.Information, "Closing {Count} open WebSocket connection(s) with 1001 for shutdown.", EventName = "ShuttingDown")]
    public static partial void ShuttingDown(ILogger logger, int count);

    [LoggerMessage(9, LogLevel.Debug, "WebSocket connection {ConnectionId} transport failed.", EventName = "TransportFailed")]
    public static partial void TransportFailed(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(10, LogLevel.Information, "WebSocket connection {ConnectionId} dropped as a slow consumer: {Buffered} bytes buffered, limit {Limit}.", EventName = "SlowConsumerDropped")]
    public static partial void SlowConsumerDropped(ILogger logger, string connectionId, long buffered, long limit);

    [LoggerMessage(11, LogLevel.Information, "Draining: new WebSocket upgrades get 503; closing {Count} open connection(s) with {CloseCode} over {WindowMs} ms.", EventName = "Draining")]
    public static partial void Draining(ILogger logger, int count, int closeCode, long windowMs);

    [LoggerMessage(12, LogLevel.Debug, "WebSocket connection {ConnectionId} reached its maximum lifetime; closing with {CloseCode}.", EventName = "ConnectionLifetimeReached")]
    public static partial void ConnectionLifetimeReached(ILogger logger, string connectionId, int closeCode);

    [LoggerMessage(13, LogLevel.Information, "WebSocket connection {ConnectionId} exceeded its {Scope} message rate limit; closing with 1008.", EventName = "MessageRateLimited")]
    public static partial void MessageRateLimited(ILogger logger, string connectionId, string scope);

    [LoggerMessage(14, LogLevel.Warning, "WebSocket connection {ConnectionId}'s handler held the event loop for {ElapsedMs} ms (threshold {ThresholdMs} ms); every connection on that I/O thread waited. Move blocking or long work off the loop (await it, or Task.Run it). {Suppressed} more stall(s) since the last warning.", EventName = "EventLoopStalled")]
    public static partial void EventLoopStalled(ILogger logger, string connectionId, long elapsedMs, long thresholdMs, long suppressed);

    [LoggerMessage(15, LogLevel.Information, "Event-loop mode: Kestrel's inline scheduling on; inline socket completions {InlineCompletions}.", EventName = "EventLoopMode")]
    public static partial void EventLoopMode(ILogger logger, string inlineCompletions);

    [LoggerMessage(16, LogLevel.Warning, "Lean transport: accepting a connection failed (errno {Errno}: out of descriptors or memory); retrying in 10 ms.", EventName = "AcceptFailed")]
    public static partial void AcceptFailed(ILogger logger, int errno);

    [LoggerMessage(17, LogLevel.Error, "Lean transport: an event loop callback failed.", EventName = "EventLoopCallbackFailed")]
    public static partial void EventLoopCallbackFailed(ILogger logger, Exception exception);
}
