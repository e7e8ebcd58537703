namespace AspNetWebSockets.ConformanceTests;

/// <summary>
/// The guard of build/test.sh's runs: the echo server under test runs in the mode the run asked for (the event-loop
/// mode with inline socket completions when ASPNETWEBSOCKETS_TEST_EVENT_LOOP=1, the default otherwise), so the
/// event-loop run cannot pass while silently testing the default mode; and over lean connections unless the run is the
/// classic one (ASPNETWEBSOCKETS_TEST_CLASSIC=1).
/// </summary>
public sealed class ExecutionModeTests(EchoServer server)
{
    [Fact]
    public Task The_echo_server_runs_in_the_mode_this_test_run_asked_for() =>
        TestExecutionMode.AssertHostRunsInRequestedModeAsync(server.Services, TestContext.Current.CancellationToken);

    [Fact]
    public void The_echo_server_uses_the_transport_this_test_run_asked_for() =>
        TestExecutionMode.AssertHostUsesRequestedTransport(server.Services);
}
