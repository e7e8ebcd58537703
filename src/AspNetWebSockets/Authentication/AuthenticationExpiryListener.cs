using System.Globalization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AspNetWebSockets.Authentication;

/// <summary>
/// For endpoints with <c>CloseOnAuthenticationExpiration()</c>: arms one timer per connection at the identity's expiry that
/// closes it with 1008. The timer is disposed when the connection closes first.
/// </summary>
internal sealed partial class AuthenticationExpiryListener(TimeProvider time, ILoggerFactory loggerFactory) : IWebSocketConnectionListener
{
    internal const string Reason = "authentication expired";

    // ITimer's longest due time; identities living longer are re-armed when it fires.
    private static readonly TimeSpan MaxDueTime = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private readonly ILogger _logger = loggerFactory.CreateLogger("AspNetWebSockets.Authentication");
    private readonly TimeProvider _time = time;

    public void OnConnected(WebSocketConnection connection, HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<CloseOnAuthenticationExpirationMetadata>() is not { Enabled: true })
        {
            return;
        }

        if (ExpiryOf(context) is not { } expires)
        {
            LogNoExpiry(_logger, connection.ConnectionId);
            return;
        }

        new Watch(this, connection, expires).Arm();
    }

    /// <summary>The ticket's <c>ExpiresUtc</c>, else the principal's <c>exp</c> claim (Unix seconds), else null.</summary>
    internal static DateTimeOffset? ExpiryOf(HttpContext context)
    {
        if (context.Features.Get<IAuthenticateResultFeature>()?.AuthenticateResult?.Properties?.ExpiresUtc is { } ticket)
        {
            return ticket;
        }

        string? exp = context.User.FindFirst("exp")?.Value;
        return long.TryParse(exp, NumberStyles.Integer, CultureInfo.InvariantCulture, out long seconds) && seconds is > 0 and < 253402300800
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;
    }

    [LoggerMessage(301, LogLevel.Information, "WebSocket connection {ConnectionId} closed with 1008: its authentication expired at {ExpiresUtc:O}.", EventName = "AuthenticationExpired")]
    private static partial void LogExpired(ILogger logger, string connectionId, DateTimeOffset expiresUtc);

    [LoggerMessage(302, LogLevel.Debug, "WebSocket connection {ConnectionId}: CloseOnAuthenticationExpiration is on but its identity has no expiry.", EventName = "AuthenticationNoExpiry")]
    private static partial void LogNoExpiry(ILogger logger, string connectionId);

    /// <summary>One connection's timer.</summary>
    private sealed class Watch(AuthenticationExpiryListener owner, WebSocketConnection connection, DateTimeOffset expires)
    {
        private ITimer? _timer;
        private CancellationTokenRegistration _closed;

        public void Arm()
        {
            _timer = owner._time.CreateTimer(static state => ((Watch)state!).OnDue(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _closed = connection.ConnectionClosed.Register(static state => ((Watch)state!)._timer!.Dispose(), this);
            Schedule();
        }

        private void Schedule()
        {
            TimeSpan due = expires - owner._time.GetUtcNow();
            _timer!.Change(due <= TimeSpan.Zero ? TimeSpan.Zero : due < MaxDueTime ? due : MaxDueTime, Timeout.InfiniteTimeSpan);
        }

        private void OnDue()
        {
            if (owner._time.GetUtcNow() < expires)
            {
                Schedule(); // woke early (the due time was capped)
                return;
            }

            _closed.Dispose();
            _timer!.Dispose();
            if (connection.ReadyState != WebSocketReadyState.Open)
            {
                return;
            }

            LogExpired(owner._logger, connection.ConnectionId, expires);
            _ = CloseAsync();
        }

        private async Task CloseAsync()
        {
            try
            {
                await connection.CloseAsync(WebSocketCloseCode.PolicyViolation, Reason).ConfigureAwait(false);
            }
            catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or IOException or InvalidOperationException or OperationCanceledException)
            {
                connection.Abort(); // closing already, or the transport failed: either way it is over
            }
        }
    }
}
