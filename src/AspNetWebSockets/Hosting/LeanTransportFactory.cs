using System.Net;
using AspNetWebSockets.Diagnostics;
using AspNetWebSockets.Transport.Linux;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AspNetWebSockets.Hosting;

/// <summary>
/// Kestrel's listener factory for <see cref="WebSocketServerOptions.LeanConnections"/>: binds IP end points with the
/// epoll transport (<see cref="EpollConnectionListener"/>) and leaves everything else (Unix sockets, named pipes, lean
/// connections off, other platforms) to the next factory, Kestrel's own socket transport. Registered by
/// <c>AddWebSockets</c> after Kestrel's, so Kestrel asks it first.
/// </summary>
internal sealed class LeanTransportFactory : IConnectionListenerFactory, IConnectionListenerFactorySelector, IDisposable
{
    private readonly WebSocketServerOptions _options;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private EpollLoopGroup? _loops;
    private long _lastAcceptWarning = long.MinValue;

    public LeanTransportFactory(IOptions<WebSocketServerOptions> options, ILoggerFactory loggerFactory)
    {
        _options = options.Value;
        _logger = loggerFactory.CreateLogger("AspNetWebSockets.Transport");
    }

    public bool CanBind(EndPoint endpoint) => _options.LeanConnections && Libc.IsSupported && endpoint is IPEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        if (!CanBind(endpoint))
        {
            throw new NotSupportedException($"The lean transport binds IP end points on Linux only, not {endpoint}.");
        }

        EpollLoopGroup loops;
        lock (_gate)
        {
            loops = _loops ??= new EpollLoopGroup(_options.EventLoop.LoopCount, e => Log.EventLoopCallbackFailed(_logger, e));
        }

        return new ValueTask<IConnectionListener>(new EpollConnectionListener((IPEndPoint)endpoint, loops, _options.EventLoop.Enabled, OnAcceptFailed));
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _loops?.Dispose();
            _loops = null;
        }
    }

    private void OnAcceptFailed(int errno)
    {
        // At most one warning a second: the listener retries every 10 ms while the process is out of descriptors.
        long now = Environment.TickCount64;
        long last = Interlocked.Read(ref _lastAcceptWarning);
        if (now - last >= 1000 && Interlocked.CompareExchange(ref _lastAcceptWarning, now, last) == last)
        {
            Log.AcceptFailed(_logger, errno);
        }
    }
}
