namespace AspNetWebSockets.ConformanceTests;

/// <summary>
/// The guard of build/test.sh's two runs: the echo server under test runs in the mode the run asked for (the event-loop
/// mode with inline socket completions when ASPNETWEBSOCKETS_TEST_EVENT_LOOP=1, the default otherwise), so the
/// event-loop run cannot pass while silently testing the default mode.
/// </summary>
public sealed class ExecutionModeTests(EchoServer server)
{
    [Fact]
    public Task The_echo_server_runs_in_the_mode_this_test_run_asked_for() =>
        TestExecutionMode.AssertHostRunsInRequestedModeAsync(server.Services, TestContext.Current.CancellationToken);
}
