using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using AspNetWebSockets.Compression;
using AspNetWebSockets.Diagnostics;
using AspNetWebSockets.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AspNetWebSockets.Hosting;

/// <summary>
/// Server-wide state shared by every WebSocket endpoint: validated options, the one keep-alive timer, the
/// registered extensions, and the set of open connections (so shutdown can close them all with 1001).
/// </summary>
internal sealed class WebSocketServer : IDisposable
{
    private readonly ConcurrentDictionary<WebSocketConnection, byte> _connections = new();

    public WebSocketServer(IOptions<WebSocketServerOptions> options, ILoggerFactory loggerFactory, IMeterFactory meterFactory, IEnumerable<IWebSocketExtension> extensions)
    {
        Options = options.Value;
        Metrics = new WebSocketMetrics(meterFactory, SendQueueBytes);
        Logger = loggerFactory.CreateLogger("AspNetWebSockets");
        Extensions = extensions.ToArray();
        ExtensionsWithCompression = [new PerMessageDeflateNegotiation(Options.Compression), .. Extensions];
        Heartbeat = new WebSocketHeartbeat(WebSocketHeartbeat.PeriodFor(Options.KeepAliveInterval, Options.KeepAliveTimeout));
    }

    public WebSocketServerOptions Options { get; }

    public WebSocketMetrics Metrics { get; }

    public ILogger Logger { get; }

    /// <summary>The extensions registered in DI as <see cref="IWebSocketExtension"/>, negotiated on every endpoint.</summary>
    public IReadOnlyList<IWebSocketExtension> Extensions { get; }

    /// <summary>permessage-deflate, then the registered extensions, for endpoints that compress.</summary>
    public IReadOnlyList<IWebSocketExtension> ExtensionsWithCompression { get; }

    public WebSocketHeartbeat Heartbeat { get; }

    private int _reserved;

    public int ConnectionCount => _connections.Count;

    /// <summary>The open connections (enumerating takes no snapshot and no lock).</summary>
    public IEnumerable<KeyValuePair<WebSocketConnection, byte>> Connections => _connections;

    /// <summary>Claims a slot under <see cref="WebSocketServerOptions.MaxConnections"/> before upgrading; false when full.</summary>
    public bool TryReserveConnection()
    {
        if (Interlocked.Increment(ref _reserved) <= (Options.MaxConnections ?? int.MaxValue))
        {
            return true;
        }

        Interlocked.Decrement(ref _reserved);
        return false;
    }

    public void ReleaseConnection() => Interlocked.Decrement(ref _reserved);

    public void Register(WebSocketConnection connection) => _connections.TryAdd(connection, 0);

    public void Unregister(WebSocketConnection connection) => _connections.TryRemove(connection, out _);

    /// <summary>Sends 1001 to every open connection and waits, at most <paramref name="timeout"/>, for the close handshakes; aborts the rest.</summary>
    public async Task CloseAllAsync(TimeSpan timeout)
    {
        WebSocketConnection[] open = _connections.Keys.ToArray();
        if (open.Length == 0)
        {
            return;
        }

        Log.ShuttingDown(Logger, open.Length);
        var closing = new Task[open.Length];
        for (int i = 0; i < open.Length; i++)
        {
            closing[i] = CloseQuietlyAsync(open[i]);
        }

        try
        {
            await Task.WhenAll(closing).WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            foreach (WebSocketConnection connection in open)
            {
                connection.Abort();
            }
        }
    }

    public void Dispose() => Heartbeat.Dispose();

    private long SendQueueBytes()
    {
        long total = 0;
        foreach (KeyValuePair<WebSocketConnection, byte> entry in _connections)
        {
            total += entry.Key.BufferedAmount;
        }

        return total;
    }

    private static async Task CloseQuietlyAsync(WebSocketConnection connection)
    {
        try
        {
            await connection.CloseAsync(WebSocketCloseCode.GoingAway, "Server shutting down").ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Shutdown must not fail because one peer misbehaved; CloseAsync already aborted it.
            connection.Abort();
        }
    }
}
