using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace AspNetWebSockets.Hosting;

/// <summary>
/// The drain behind <see cref="IWebSocketDrain"/> and host shutdown: flips the server to draining (503 for new upgrades,
/// failing readiness), then closes the connections that were open with 1001, each at a random moment of its own slice of
/// the window, and waits for their close handshakes at most <see cref="WebSocketServerOptions.ShutdownTimeout"/> after the
/// last one began; whatever is still open then is aborted.
/// </summary>
/// <remarks>
/// One loop with one timer wait at a time closes everything due, rather than a timer per connection: 100,000
/// connections over a minute cost a wake-up every few milliseconds, not 100,000 pending timers.
/// </remarks>
internal sealed class WebSocketDrain : IWebSocketDrain
{
    /// <summary>Closes due within this of each other are started in one wake-up.</summary>
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(10);

    private readonly WebSocketServer _server;
    private readonly CancellationTokenSource _hurry = new();
    private readonly object _gate = new();
    private Task? _drain;

    public WebSocketDrain(WebSocketServer server) => _server = server;

    public bool IsDraining => _server.IsDraining;

    public Task DrainAsync(CancellationToken cancellationToken = default) => DrainAsync(_server.Options.Drain.Window, cancellationToken);

    public Task DrainAsync(TimeSpan window, CancellationToken cancellationToken = default) => Start(window, forShutdown: false, cancellationToken);

    /// <summary>Host shutdown's drain: joins one under way, otherwise starts one over <see cref="WebSocketDrainOptions.Window"/>.</summary>
    internal Task DrainForShutdownAsync(CancellationToken hurry) => Start(_server.Options.Drain.Window, forShutdown: true, hurry);

    /// <summary>The <c>Retry-After</c> value for an upgrade refused while draining: whole seconds, at least 1.</summary>
    internal static string RetryAfterHeader(WebSocketDrainOptions options) =>
        Math.Max(1, (long)Math.Ceiling(options.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Offsets, in milliseconds from the start, at which to close <paramref name="count"/> connections over
    /// <paramref name="window"/>: the window is cut into equal slices and each connection closes at a random moment of its
    /// own slice (stratified jitter), so the closes are spread evenly yet no two nodes' drains are in lock step. Ascending.
    /// </summary>
    internal static double[] SpreadOffsets(int count, TimeSpan window, Random random)
    {
        var offsets = new double[count];
        double slice = count == 0 ? 0 : window.TotalMilliseconds / count;
        for (int i = 0; i < count; i++)
        {
            offsets[i] = (i + random.NextDouble()) * slice;
        }

        return offsets;
    }

    private Task Start(TimeSpan window, bool forShutdown, CancellationToken hurry)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(window, TimeSpan.Zero);
        if (hurry.CanBeCanceled)
        {
            hurry.Register(static state => ((WebSocketDrain)state!).Hurry(), this);
        }

        lock (_gate)
        {
            if (_drain is null)
            {
                _server.BeginDraining();
                _drain = RunAsync(window, forShutdown);
            }

            return _drain;
        }
    }

    private void Hurry()
    {
        try
        {
            _hurry.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task RunAsync(TimeSpan window, bool forShutdown)
    {
        await Task.Yield(); // the caller (ApplicationStopping, a request) is not held while the closes are spread
        WebSocketConnection[] open = [.. _server.Connections];
        Random.Shared.Shuffle(open); // no bias towards the oldest (or newest) connections closing first
        if (forShutdown)
        {
            Log.ShuttingDown(_server.Logger, open.Length);
        }

        Log.Draining(_server.Logger, open.Length, WebSocketCloseCode.GoingAway, (long)window.TotalMilliseconds);
        double[] offsets = SpreadOffsets(open.Length, window, Random.Shared);
        var closing = new List<Task>(open.Length);
        long start = Stopwatch.GetTimestamp();
        int next = 0;
        while (next < open.Length)
        {
            double elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds + Step.TotalMilliseconds;
            while (next < open.Length && (offsets[next] <= elapsed || _hurry.IsCancellationRequested))
            {
                closing.Add(open[next++].CloseQuietlyAsync(WebSocketCloseCode.GoingAway, "Server shutting down"));
            }

            if (next < open.Length)
            {
                TimeSpan wait = TimeSpan.FromMilliseconds(Math.Max(offsets[next] - Stopwatch.GetElapsedTime(start).TotalMilliseconds, Step.TotalMilliseconds));
                try
                {
                    await Task.Delay(wait, _hurry.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Hurried: the loop closes the rest at once.
                }
            }
        }

        // Connections that registered after the snapshot (an upgrade already past the draining check) go now.
        foreach (WebSocketConnection connection in _server.Connections)
        {
            if (Array.IndexOf(open, connection) < 0)
            {
                closing.Add(connection.CloseQuietlyAsync(WebSocketCloseCode.GoingAway, "Server shutting down"));
            }
        }

        try
        {
            await Task.WhenAll(closing).WaitAsync(_server.Options.ShutdownTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            foreach (WebSocketConnection connection in _server.Connections)
            {
                connection.Abort();
            }
        }

        if (forShutdown)
        {
            // Lean connections' handlers outlive their requests, so Kestrel's own shutdown does not wait for them: the
            // code after a handler's receive loop (cleanup, presence) runs before the host stops, as on the classic path.
            try
            {
                await _server.WhenDetachedEndedAsync().WaitAsync(_server.Options.ShutdownTimeout).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // A handler that ignores its closed connection: the host's own shutdown timeout bounds it from here.
            }
        }
    }
}
