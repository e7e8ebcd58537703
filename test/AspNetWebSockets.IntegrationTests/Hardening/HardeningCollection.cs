using AspNetWebSockets.Hosting;

namespace AspNetWebSockets.IntegrationTests.Hardening;

/// <summary>
/// Floods, faults and memory checks run alone: they compare <see cref="GC.GetTotalMemory(bool)"/> before and after, and
/// watch <see cref="TaskScheduler.UnobservedTaskException"/>, both process-wide — other tests running beside them would
/// blur the first and could be blamed by the second.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HardeningCollection
{
    public const string Name = "Hardening (not parallel)";

    /// <summary>
    /// The transport the hardening tests attack: lean connections (the default), or Kestrel's own transport with its
    /// pipes in build/test.sh's classic run (ASPNETWEBSOCKETS_TEST_CLASSIC=1), which reruns this namespace.
    /// </summary>
    public static TransportMode Transport => TestExecutionMode.Classic ? TransportMode.KestrelPipes : TransportMode.KestrelLean;
}

/// <summary>Process-wide observations a fault test makes about everything that ran while it was alive.</summary>
internal sealed class LeakWatch : IDisposable
{
    private readonly List<Exception> _unobserved = [];

    public LeakWatch()
    {
        Settle();
        BaselineBytes = GC.GetTotalMemory(forceFullCollection: true);
        TaskScheduler.UnobservedTaskException += OnUnobserved;
    }

    public long BaselineBytes { get; }

    /// <summary>
    /// Fails if any task faulted without being observed since construction. Finalizers run first: an unobserved
    /// exception is only reported when its task is collected.
    /// </summary>
    public void AssertNoUnobservedTaskExceptions()
    {
        Settle();
        lock (_unobserved)
        {
            Assert.True(_unobserved.Count == 0, "Unobserved task exceptions:\n" + string.Join("\n---\n", _unobserved));
        }
    }

    /// <summary>Live managed memory now minus at construction, after a full collection.</summary>
    public long GrowthBytes()
    {
        Settle();
        return GC.GetTotalMemory(forceFullCollection: true) - BaselineBytes;
    }

    public void Dispose() => TaskScheduler.UnobservedTaskException -= OnUnobserved;

    /// <summary>Waits (bounded) until the server holds no connection, and returns how many it still holds.</summary>
    public static async Task<int> OpenConnectionsAfterDrainAsync(TestApp app)
    {
        WebSocketServer server = app.App.Services.GetRequiredService<WebSocketServer>();
        for (int attempt = 0; attempt < 300 && server.ConnectionCount > 0; attempt++)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        return server.ConnectionCount;
    }

    private static void Settle()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    private void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e)
    {
        lock (_unobserved)
        {
            _unobserved.Add(e.Exception);
        }
    }
}
