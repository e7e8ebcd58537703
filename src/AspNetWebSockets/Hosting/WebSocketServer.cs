using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using AspNetWebSockets.Compression;
using AspNetWebSockets.Diagnostics;
using AspNetWebSockets.Extensions;
using AspNetWebSockets.Protocol;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AspNetWebSockets.Hosting;

/// <summary>
/// Server-wide state shared by every WebSocket endpoint: validated options, the one keep-alive timer, the
/// registered extensions, the set of open connections (the heartbeat's, so a drain or shutdown can close them all with 1001), and whether it is draining.
/// </summary>
internal sealed class WebSocketServer : IWebSocketConnectionSet, IDisposable
{
    public WebSocketServer(IOptions<WebSocketServerOptions> options, ILoggerFactory loggerFactory, IMeterFactory meterFactory, IEnumerable<IWebSocketExtension> extensions)
    {
        Options = options.Value;
        Metrics = new WebSocketMetrics(meterFactory, SendQueueBytes);
        Logger = loggerFactory.CreateLogger("AspNetWebSockets");
        Extensions = extensions.ToArray();
        ExtensionsWithCompression = [new PerMessageDeflateNegotiation(Options.Compression), .. Extensions];
        Heartbeat = new WebSocketHeartbeat(WebSocketHeartbeat.PeriodFor(Options.KeepAliveInterval, Options.KeepAliveTimeout));
        if (Options.EventLoop.Enabled)
        {
            LoopStalls = new WebSocketLoopStallMonitor(Options.EventLoop.StallThreshold, Logger, Metrics);
            Log.EventLoopMode(Logger, InlineSocketCompletions.Describe());
        }
    }

    public WebSocketServerOptions Options { get; }

    public WebSocketMetrics Metrics { get; }

    public ILogger Logger { get; }

    /// <summary>The extensions registered in DI as <see cref="IWebSocketExtension"/>, negotiated on every endpoint.</summary>
    public IReadOnlyList<IWebSocketExtension> Extensions { get; }

    /// <summary>permessage-deflate, then the registered extensions, for endpoints that compress.</summary>
    public IReadOnlyList<IWebSocketExtension> ExtensionsWithCompression { get; }

    public WebSocketHeartbeat Heartbeat { get; }

    /// <summary>Event-loop mode's stall detection; null in the default mode.</summary>
    public WebSocketLoopStallMonitor? LoopStalls { get; }

    // Endpoint settings resolved once per endpoint (weakly keyed: endpoints of a dynamic data source may come and go).
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<Endpoint, WebSocketEndpointSettings> _endpointSettings = [];
    private WebSocketEndpointSettings? _serverSettings;

    /// <summary>The effective settings of <paramref name="endpoint"/> (the server's own for a request that reached none).</summary>
    public WebSocketEndpointSettings SettingsFor(Endpoint? endpoint) =>
        endpoint is null
            ? _serverSettings ??= WebSocketEndpointSettings.Resolve(null, Options)
            : _endpointSettings.GetValue(endpoint, e => WebSocketEndpointSettings.Resolve(e, Options));

    // Connection settings shared by the connections that agree on them (see ConnectionSettingsFor); bounded, because the
    // drop-in path takes keep-alive times per request.
    private const int MaxSharedConnectionSettings = 64;
    private readonly ConcurrentDictionary<ConnectionSettingsKey, WebSocketConnectionSettings> _connectionSettings = new();

    /// <summary>
    /// The settings shared by every server connection with these limits, keep-alive times and corking: one instance per
    /// endpoint in practice, so an idle connection holds a reference instead of a 160-byte copy. Beyond
    /// <see cref="MaxSharedConnectionSettings"/> distinct combinations (keep-alive times chosen per request on the
    /// drop-in path), a fresh instance is returned rather than cached.
    /// </summary>
    public WebSocketConnectionSettings ConnectionSettingsFor(DecoderLimits limits, TimeSpan keepAliveInterval, TimeSpan keepAliveTimeout, bool autoCork)
    {
        var key = new ConnectionSettingsKey(limits, keepAliveInterval, keepAliveTimeout, autoCork);
        if (_connectionSettings.TryGetValue(key, out WebSocketConnectionSettings? shared))
        {
            return shared;
        }

        WebSocketConnectionSettings settings = CreateConnectionSettings(key);
        return _connectionSettings.Count < MaxSharedConnectionSettings ? _connectionSettings.GetOrAdd(key, settings) : settings;
    }

    private WebSocketConnectionSettings CreateConnectionSettings(ConnectionSettingsKey key) => new()
    {
        Role = WebSocketRole.Server,
        Limits = key.Limits,
        KeepAliveInterval = key.KeepAliveInterval,
        KeepAliveTimeout = key.KeepAliveTimeout,
        CloseTimeout = Options.CloseTimeout,
        MaxBufferedAmount = Options.MaxBufferedAmount,
        SlowConsumerPolicy = Options.SlowConsumerPolicy,
        Logger = Logger,
        Heartbeat = Heartbeat,
        OwnerUnregisters = true, // Unregister: when the application is done with the connection, as ConnectionCount promises
        Metrics = Metrics,
        AutoCork = key.AutoCork,
        LoopStalls = LoopStalls,
    };

    private readonly record struct ConnectionSettingsKey(DecoderLimits Limits, TimeSpan KeepAliveInterval, TimeSpan KeepAliveTimeout, bool AutoCork);

    private int _reserved;
    private int _draining;

    /// <summary>True once a drain began (<see cref="WebSocketDrain"/>): new upgrades are refused with 503 and readiness fails.</summary>
    public bool IsDraining => Volatile.Read(ref _draining) != 0;

    /// <summary>Marks the server as draining; false when it already was.</summary>
    public bool BeginDraining() => Interlocked.Exchange(ref _draining, 1) == 0;

    /// <summary>
    /// How many connections this server holds: from the upgrade until the application is done with them (their handler
    /// ended, <see cref="Unregister"/>). The heartbeat's registry is the one list of them.
    /// </summary>
    public int ConnectionCount => Heartbeat.Count;

    /// <summary>The connections (enumerating takes no snapshot and no lock): the heartbeat's registry, see <see cref="ConnectionCount"/>.</summary>
    public ConcurrentSlotSet<WebSocketConnection> Connections => Heartbeat.Connections;

    /// <summary>Claims a slot under <see cref="WebSocketServerOptions.MaxConnections"/> before upgrading; false when full.</summary>
    public bool TryReserveConnection()
    {
        if (IsDraining)
        {
            return false; // the drop-in path's check; MapWebSocket endpoints answer 503 + Retry-After before getting here
        }

        if (Interlocked.Increment(ref _reserved) <= (Options.MaxConnections ?? int.MaxValue))
        {
            return true;
        }

        Interlocked.Decrement(ref _reserved);
        return false;
    }

    public void ReleaseConnection() => Interlocked.Decrement(ref _reserved);

    private readonly Lock _detachedGate = new();
    private int _detached;
    private TaskCompletionSource? _detachedEnded;

    /// <summary>
    /// Counts a lean connection's run, which outlives its request (so Kestrel's shutdown does not wait for it); the
    /// server's shutdown waits for these (<see cref="WhenDetachedEndedAsync"/>).
    /// </summary>
    public void DetachedStarted() => Interlocked.Increment(ref _detached);

    /// <summary>A lean connection's run ended (its handler returned and the connection closed).</summary>
    public void DetachedEnded()
    {
        if (Interlocked.Decrement(ref _detached) != 0)
        {
            return;
        }

        TaskCompletionSource? ended;
        lock (_detachedGate)
        {
            ended = _detachedEnded;
            _detachedEnded = null;
        }

        ended?.TrySetResult();
    }

    /// <summary>Completes when no lean connection's run is left.</summary>
    public Task WhenDetachedEndedAsync()
    {
        lock (_detachedGate)
        {
            if (Volatile.Read(ref _detached) == 0)
            {
                return Task.CompletedTask;
            }

            _detachedEnded ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _detachedEnded.Task;
        }
    }

    /// <summary>The application is done with <paramref name="connection"/> (closed, handler ended): it leaves the registry.</summary>
    public void Unregister(WebSocketConnection connection) => Heartbeat.Unregister(connection);

    public void Dispose() => Heartbeat.Dispose();

    private long SendQueueBytes()
    {
        long total = 0;
        foreach (WebSocketConnection connection in Heartbeat.Connections)
        {
            total += connection.BufferedAmount;
        }

        return total;
    }
}
