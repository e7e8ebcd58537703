namespace AspNetWebSockets;

/// <summary>
/// Which traces the server records on the <c>AspNetWebSockets</c> activity source (<c>o.Tracing</c>). The upgrade and
/// connection spans are always available to a listener; per-message spans are opt-in because a busy connection would
/// otherwise produce one span per message.
/// </summary>
public sealed class WebSocketTracingOptions
{
    private double _messageSampleRatio = 1.0;

    /// <summary>
    /// Record a <c>websocket.server.process</c> span for each message read through <see cref="WebSocketConnection.ReadAllAsync"/>
    /// (which <see cref="WebSocketHandler"/>'s <c>OnMessageAsync</c> runs on), as a child of the connection's span,
    /// from the moment the message is handed to the application until it asks for the next one. Default false.
    /// </summary>
    public bool MessageSpans { get; set; }

    /// <summary>
    /// The fraction of messages that get a span when <see cref="MessageSpans"/> is on, 0 to 1. Default 1 (every message);
    /// 0.01 traces one message in a hundred. Applied before the tracing SDK's own sampler, which still decides for the
    /// messages chosen here.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not between 0 and 1.</exception>
    public double MessageSampleRatio
    {
        get => _messageSampleRatio;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 0.0);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 1.0);
            _messageSampleRatio = value;
        }
    }
}
