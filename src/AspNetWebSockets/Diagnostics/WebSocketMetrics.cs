using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace AspNetWebSockets.Diagnostics;

/// <summary>
/// The server's <see cref="System.Diagnostics.Metrics"/> instruments, on the meter <c>AspNetWebSockets</c> (watch them
/// with <c>dotnet-counters monitor -n YourApp --counters AspNetWebSockets</c> or any OpenTelemetry exporter). Names follow
/// OpenTelemetry's semantic-convention style. Recording costs a flag check when nobody listens, so the per-message
/// counters stay on the hot path.
/// </summary>
internal sealed class WebSocketMetrics
{
    public const string MeterName = "AspNetWebSockets";

    // Network round trips, 1 ms to 10 s: the default buckets (0, 5, 10, 25, ...) suit milliseconds, not seconds.
    private static readonly double[] RoundTripBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10];

    private readonly UpDownCounter<long> _activeConnections;
    private readonly Counter<long> _opened;
    private readonly Counter<long> _closed;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _handshakeFailures;
    private readonly Counter<long> _messagesReceived;
    private readonly Counter<long> _messagesSent;
    private readonly Counter<long> _bytesReceived;
    private readonly Counter<long> _bytesSent;
    private readonly Counter<long> _compressionInput;
    private readonly Counter<long> _compressionOutput;
    private readonly Counter<long> _limited;
    private readonly Histogram<double> _roundTrip;
    private readonly Counter<long> _loopStalls;

    public WebSocketMetrics(IMeterFactory meterFactory, Func<long> sendQueueBytes)
    {
        Meter meter = meterFactory.Create(MeterName);
        _activeConnections = meter.CreateUpDownCounter<long>("websocket.server.active_connections", "{connection}", "Open WebSocket connections.");
        _opened = meter.CreateCounter<long>("websocket.server.connections.opened", "{connection}", "WebSocket connections accepted.");
        _closed = meter.CreateCounter<long>("websocket.server.connections.closed", "{connection}", "WebSocket connections closed, by close code and cleanliness.");
        _duration = meter.CreateHistogram<double>("websocket.server.connection.duration", "s", "How long WebSocket connections lasted.");
        _handshakeFailures = meter.CreateCounter<long>("websocket.server.handshake.failures", "{request}", "Refused WebSocket handshakes, by reason.");
        _messagesReceived = meter.CreateCounter<long>("websocket.server.messages.received", "{message}", "Whole messages received.");
        _messagesSent = meter.CreateCounter<long>("websocket.server.messages.sent", "{message}", "Whole messages sent.");
        _bytesReceived = meter.CreateCounter<long>("websocket.server.bytes.received", "By", "Message payload bytes received (after decompression).");
        _bytesSent = meter.CreateCounter<long>("websocket.server.bytes.sent", "By", "Message payload bytes sent (before compression).");
        _compressionInput = meter.CreateCounter<long>("websocket.server.compression.uncompressed_bytes", "By", "Bytes of messages that went through permessage-deflate, uncompressed.");
        _compressionOutput = meter.CreateCounter<long>("websocket.server.compression.compressed_bytes", "By", "The same messages' bytes on the wire; the ratio of the two counters is the compression ratio.");
        _limited = meter.CreateCounter<long>("websocket.server.messages.limited", "{message}", "Received messages over a rate limit, by scope (connection or endpoint) and policy (backpressure or close).");
        _roundTrip = meter.CreateHistogram<double>(
            "websocket.server.rtt",
            "s",
            "Round-trip time from a server ping (keep-alive or PingAsync) to the peer's pong.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = RoundTripBuckets });
        _loopStalls = meter.CreateCounter<long>("websocket.server.event_loop.stalls", "{callback}", "Event-loop mode: receive callbacks (the handler's run after a read) that held the I/O thread longer than the stall threshold.");
        meter.CreateObservableGauge("websocket.server.send_queue.size", sendQueueBytes, "By", "Bytes accepted by sends but not yet handed to the transport, over all connections.");
    }

    public void ConnectionOpened()
    {
        _opened.Add(1);
        _activeConnections.Add(1);
    }

    public void ConnectionClosed(WebSocketCloseInfo info, TimeSpan duration)
    {
        _activeConnections.Add(-1);
        var tags = new TagList
        {
            { "websocket.close.code", info.Code },
            { "websocket.close.clean", info.WasClean },
        };
        _duration.Record(duration.TotalSeconds, tags);
        _closed.Add(1, tags);
    }

    public void HandshakeFailed(string reason) => _handshakeFailures.Add(1, new KeyValuePair<string, object?>("error.type", reason));

    public void Received(long bytes, bool endOfMessage)
    {
        _bytesReceived.Add(bytes);
        if (endOfMessage)
        {
            _messagesReceived.Add(1);
        }
    }

    public void Sent(long bytes, bool endOfMessage)
    {
        _bytesSent.Add(bytes);
        if (endOfMessage)
        {
            _messagesSent.Add(1);
        }
    }

    public void MessageLimited(string scope, WebSocketRateLimitPolicy policy) => _limited.Add(
        1,
        new KeyValuePair<string, object?>("websocket.rate_limit.scope", scope),
        new KeyValuePair<string, object?>("websocket.rate_limit.policy", policy == WebSocketRateLimitPolicy.Close ? "close" : "backpressure"));

    public void LoopStalled() => _loopStalls.Add(1);

    public void RoundTrip(TimeSpan roundTrip) => _roundTrip.Record(roundTrip.TotalSeconds);

    public void Compressed(long uncompressed, long compressed)
    {
        _compressionInput.Add(uncompressed);
        _compressionOutput.Add(compressed);
    }
}
