using System.Collections.Concurrent;
using System.Diagnostics;

namespace AspNetWebSockets.IntegrationTests.Diagnostics;

/// <summary>
/// An in-memory <see cref="ActivityListener"/> on the given sources that keeps the stopped activities whose
/// <c>http.route</c> (or whose parent chain) belongs to one test's route, so tests running in parallel do not see each
/// other's spans.
/// </summary>
internal sealed class ActivityRecorder : IDisposable
{
    private readonly ActivityListener _listener;
    private readonly ConcurrentQueue<Activity> _stopped = new();

    public ActivityRecorder(params string[] sources)
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => sources.Contains(source.Name),
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public IReadOnlyList<Activity> Stopped => _stopped.ToArray();

    /// <summary>The stopped activities named <paramref name="operationName"/> in the trace <paramref name="traceId"/>.</summary>
    public IReadOnlyList<Activity> InTrace(ActivityTraceId traceId, string operationName) =>
        _stopped.Where(a => a.TraceId == traceId && a.OperationName == operationName).ToArray();

    /// <summary>Waits (bounded) until <paramref name="count"/> activities named <paramref name="operationName"/> in the trace have stopped.</summary>
    public async Task<IReadOnlyList<Activity>> WaitForAsync(ActivityTraceId traceId, string operationName, int count)
    {
        for (int attempt = 0; attempt < 200; attempt++)
        {
            IReadOnlyList<Activity> found = InTrace(traceId, operationName);
            if (found.Count >= count)
            {
                return found;
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        return InTrace(traceId, operationName);
    }

    public void Dispose() => _listener.Dispose();
}
