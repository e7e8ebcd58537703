using AspNetWebSockets.Hosting;
using AspNetWebSockets.Tests.Connection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AspNetWebSockets.Tests.Hosting;

/// <summary>The lifetime limit's per-connection deadline: inside [lifetime − jitter, lifetime], fixed per connection, spread.</summary>
public sealed class LifetimeDeadlineTests
{
    [Fact]
    public void Deadlines_fall_inside_the_jitter_band_are_stable_and_spread()
    {
        using var server = new WebSocketServer(Options.Create(new WebSocketServerOptions()), NullLoggerFactory.Instance, new NoMeters(), []);
        var limiter = new WebSocketLifetimeLimiter(server);
        TimeSpan lifetime = TimeSpan.FromMinutes(10), jitter = TimeSpan.FromMinutes(2);
        var connections = Enumerable.Range(0, 200).Select(_ => new InMemoryPeer().Connection).ToArray();

        long[] offsets = connections.Select(c => limiter.DeadlineOf(c, lifetime, jitter) - c.OpenedAt).ToArray();
        Assert.All(offsets, o => Assert.InRange(o, 8 * 60_000, 10 * 60_000));
        Assert.Equal(offsets, connections.Select(c => limiter.DeadlineOf(c, lifetime, jitter) - c.OpenedAt));
        Assert.True(offsets.Count(o => o < 9 * 60_000) is > 50 and < 150, "about half the deadlines in each half of the band");
    }

    [Theory]
    [InlineData(60_000, 0, 1000)]
    [InlineData(2_000, 0, 200)]
    [InlineData(60_000, 1_000, 100)]
    [InlineData(100, 0, 50)]
    public void The_timer_ticks_at_a_tenth_of_the_shorter_of_lifetime_and_jitter(int lifetimeMs, int jitterMs, int expectedMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), WebSocketLifetimeLimiter.PeriodFor(TimeSpan.FromMilliseconds(lifetimeMs), TimeSpan.FromMilliseconds(jitterMs)));
}
