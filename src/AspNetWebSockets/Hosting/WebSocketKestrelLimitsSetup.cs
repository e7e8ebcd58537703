using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace AspNetWebSockets.Hosting;

/// <summary>
/// Applies <see cref="WebSocketServerOptions.HandshakeTimeout"/> to Kestrel. Until a request's headers are complete
/// only Kestrel sees the connection, so the bound has to be Kestrel's: <c>KeepAliveTimeout</c> covers a new connection
/// until its first byte, <c>RequestHeadersTimeout</c> from the first byte to the end of the headers. A post-configure
/// step runs after every <c>ConfigureKestrel</c>/<c>UseKestrel</c> callback and the "Kestrel" configuration section,
/// so it can tell a limit the application set (left alone) from one still at Kestrel's default (replaced).
/// </summary>
internal sealed class WebSocketKestrelLimitsSetup : IPostConfigureOptions<KestrelServerOptions>
{
    // Kestrel's defaults, read from a fresh instance rather than restated, so a future change of default is followed.
    private static readonly KestrelServerLimits Defaults = new();

    private readonly IOptions<WebSocketServerOptions> _options;

    public WebSocketKestrelLimitsSetup(IOptions<WebSocketServerOptions> options) => _options = options;

    public void PostConfigure(string? name, KestrelServerOptions options)
    {
        TimeSpan handshake = _options.Value.HandshakeTimeout;
        if (handshake == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        KestrelServerLimits limits = options.Limits;
        if (limits.RequestHeadersTimeout == Defaults.RequestHeadersTimeout)
        {
            limits.RequestHeadersTimeout = handshake;
        }

        if (limits.KeepAliveTimeout == Defaults.KeepAliveTimeout)
        {
            limits.KeepAliveTimeout = handshake;
        }
    }
}
