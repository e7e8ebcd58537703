using Microsoft.Extensions.Logging;

namespace AspNetWebSockets;

public sealed partial class WebSocketConnection
{
    /// <summary>Where this connection records metrics (null on the test client): the shared settings'.</summary>
    internal Diagnostics.WebSocketMetrics? Metrics => _settings.Metrics;

    /// <summary>This connection's logger: the shared settings'.</summary>
    internal ILogger Logger => _settings.Logger;

    /// <summary>
    /// The rate-limit check of the whole-message receives: true to hand <paramref name="message"/> to the
    /// application — at once without limits, or once the limits allow it — and false when the connection was closed with
    /// 1008 for exceeding them.
    /// </summary>
    private ValueTask<bool> AdmitAsync(WebSocketMessage message, CancellationToken cancellationToken) =>
        _rateLimit is { } limit ? limit.AdmitAsync(this, message.Length, cancellationToken) : new ValueTask<bool>(true);
}
