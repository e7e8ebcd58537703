namespace AspNetWebSockets.RealClientTests;

/// <summary>
/// The guard of build/test.sh's runs: the app the real clients talk to runs in the mode the run asked for (the
/// event-loop mode with inline socket completions when ASPNETWEBSOCKETS_TEST_EVENT_LOOP=1, the default otherwise), so the
/// event-loop run cannot pass while silently testing the default mode; and over lean connections unless the run is the
/// classic one (ASPNETWEBSOCKETS_TEST_CLASSIC=1).
/// </summary>
public sealed class ExecutionModeTests
{
    [Fact]
    public async Task The_app_under_test_runs_in_the_mode_this_test_run_asked_for()
    {
        await using RealClientApp app = await RealClientApp.StartAsync();

        await TestExecutionMode.AssertHostRunsInRequestedModeAsync(app.Services, TestContext.Current.CancellationToken);
        TestExecutionMode.AssertHostUsesRequestedTransport(app.Services);
    }
}
