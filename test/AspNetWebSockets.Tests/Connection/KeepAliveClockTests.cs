using Xunit;
using Verdict = AspNetWebSockets.KeepAliveClock.Verdict;

namespace AspNetWebSockets.Tests.Connection;

/// <summary>
/// The keep-alive verdicts of the heartbeat's ticks: ping a peer silent for the interval, give up on one that stays silent
/// for the timeout after the ping. Arrivals are flags that the next tick dates, so they count from that tick.
/// </summary>
public class KeepAliveClockTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(1000);
    private static readonly TimeSpan PingTimeout = TimeSpan.FromMilliseconds(500);

    [Fact]
    public void A_silent_peer_is_pinged_after_the_interval_and_given_up_after_the_timeout()
    {
        var clock = new KeepAliveClock(openedAt: 10_000);

        Assert.Equal(Verdict.Nothing, clock.Tick(10_999, Interval, PingTimeout));
        Assert.Equal(Verdict.Ping, clock.Tick(11_000, Interval, PingTimeout));
        Assert.Equal(Verdict.Nothing, clock.Tick(11_499, Interval, PingTimeout)); // the ping's timeout has not passed
        Assert.Equal(Verdict.TimedOut, clock.Tick(11_500, Interval, PingTimeout));
    }

    [Fact]
    public void An_arrival_counts_from_the_tick_after_it()
    {
        var clock = new KeepAliveClock(openedAt: 10_000);

        clock.Received();
        Assert.Equal(Verdict.Nothing, clock.Tick(10_900, Interval, PingTimeout)); // dates the arrival at 10,900
        Assert.Equal(Verdict.Nothing, clock.Tick(11_899, Interval, PingTimeout));
        Assert.Equal(Verdict.Ping, clock.Tick(11_900, Interval, PingTimeout));
    }

    [Fact]
    public void An_arrival_seen_by_a_tick_postpones_the_ping_it_would_have_sent()
    {
        var clock = new KeepAliveClock(openedAt: 10_000);

        clock.Received(); // arrived before the tick that would otherwise ping
        Assert.Equal(Verdict.Nothing, clock.Tick(11_000, Interval, PingTimeout));
        Assert.Equal(Verdict.Ping, clock.Tick(12_000, Interval, PingTimeout));
    }

    [Fact]
    public void Anything_arriving_after_the_ping_keeps_the_peer()
    {
        var clock = new KeepAliveClock(openedAt: 10_000);
        Assert.Equal(Verdict.Ping, clock.Tick(11_000, Interval, PingTimeout));

        clock.Received(); // the pong, or any other bytes
        Assert.Equal(Verdict.Nothing, clock.Tick(11_600, Interval, PingTimeout)); // past the timeout, but the peer answered
        Assert.Equal(Verdict.Ping, clock.Tick(12_600, Interval, PingTimeout)); // silent again for the interval since
    }

    [Fact]
    public void Each_arrival_is_dated_once()
    {
        var clock = new KeepAliveClock(openedAt: 10_000);

        clock.Received();
        clock.Received();
        Assert.Equal(Verdict.Nothing, clock.Tick(10_500, Interval, PingTimeout));
        Assert.Equal(Verdict.Ping, clock.Tick(11_500, Interval, PingTimeout)); // the flag was cleared at 10,500
    }

    [Fact]
    public void No_interval_means_no_verdict()
    {
        var clock = new KeepAliveClock(openedAt: 10_000);

        Assert.Equal(Verdict.Nothing, clock.Tick(1_000_000, Timeout.InfiniteTimeSpan, PingTimeout));
    }

    [Fact]
    public void No_timeout_means_the_peer_is_never_given_up()
    {
        var clock = new KeepAliveClock(openedAt: 10_000);

        Assert.Equal(Verdict.Ping, clock.Tick(11_000, Interval, Timeout.InfiniteTimeSpan));
        Assert.Equal(Verdict.Nothing, clock.Tick(1_000_000, Interval, Timeout.InfiniteTimeSpan));
    }
}
