using System.Diagnostics;

namespace AspNetWebSockets.Diagnostics;

/// <summary>
/// A connection's per-message spans (<see cref="WebSocketActivitySource.ProcessActivityName"/>): created only when
/// <see cref="WebSocketTracingOptions.MessageSpans"/> is on and the connection's own span is recorded, so the receive path
/// pays a null check otherwise.
/// </summary>
internal sealed class WebSocketMessageTracer
{
    private readonly ActivityContext _parent;
    private readonly double _sampleRatio;
    private readonly string _displayName;

    public WebSocketMessageTracer(Activity connection, double sampleRatio)
    {
        _parent = connection.Context;
        _sampleRatio = sampleRatio;
        _displayName = "process " + (connection.GetTagItem("http.route") as string ?? "websocket");
    }

    /// <summary>Starts a span for <paramref name="message"/> when this message is sampled and somebody listens; null otherwise.</summary>
    public Activity? StartProcess(WebSocketMessage message)
    {
        if (_sampleRatio < 1.0 && Random.Shared.NextDouble() >= _sampleRatio)
        {
            return null;
        }

        Activity? previous = Activity.Current;
        Activity? activity = WebSocketActivitySource.Source.StartActivity(WebSocketActivitySource.ProcessActivityName, ActivityKind.Consumer, _parent);
        if (activity is null)
        {
            return null;
        }

        // The span is not made current: the application's code runs in its own async flow (an iterator's consumer).
        Activity.Current = previous;
        activity.DisplayName = _displayName;
        if (activity.IsAllDataRequested)
        {
            activity.SetTag("messaging.system", "websocket");
            activity.SetTag("messaging.operation.type", "process");
            activity.SetTag("messaging.message.body.size", message.Length);
            activity.SetTag("websocket.message.type", message.IsText ? "text" : "binary");
        }

        return activity;
    }
}
