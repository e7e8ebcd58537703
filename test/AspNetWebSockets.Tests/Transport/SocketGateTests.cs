using AspNetWebSockets.Transport.Linux;

namespace AspNetWebSockets.Tests.Transport;

/// <summary>The epoll socket's one-word gate excludes, hands over under contention, and refuses re-entry (Debug builds).</summary>
public sealed class SocketGateTests
{
    private SocketGate _gate;
    private long _inside;
    private long _count;

    [Fact]
    public async Task Threads_contending_for_the_gate_never_overlap_and_none_is_lost()
    {
        const int PerThread = 200_000;
        Task[] workers = new Task[4];
        for (int t = 0; t < workers.Length; t++)
        {
            workers[t] = Task.Factory.StartNew(
                () =>
                {
                    for (int i = 0; i < PerThread; i++)
                    {
                        using (_gate.Enter())
                        {
                            Assert.Equal(1, Interlocked.Increment(ref _inside));
                            _count++; // not atomic: only the gate keeps the count exact
                            Interlocked.Decrement(ref _inside);
                        }
                    }
                },
                TestContext.Current.CancellationToken,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
        }

        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        Assert.Equal(workers.Length * (long)PerThread, _count);
    }

    [Fact]
    public void A_section_that_takes_the_gate_again_fails_instead_of_spinning_forever()
    {
#if DEBUG
        using (_gate.Enter())
        {
            Assert.Throws<InvalidOperationException>(() => _gate.Enter());
        }

        using (_gate.Enter())
        {
            // Released and taken again: the earlier failure left it usable.
        }
#else
        Assert.Skip("Re-entry is detected in Debug builds only, where the tests run.");
#endif
    }
}
