using AspNetWebSockets.Hosting;
using AspNetWebSockets.Protocol;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AspNetWebSockets.Tests.Hosting;

/// <summary>
/// Connections that agree on limits, keep-alive and corking share one <see cref="WebSocketConnectionSettings"/> (an idle
/// connection holds a reference, not a copy); what differs per connection stays with the connection.
/// </summary>
public sealed class ConnectionSettingsSharingTests
{
    private static readonly DecoderLimits Limits = new(1000, 1000, 10);
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30), Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public void Equal_requests_share_one_instance_built_from_the_server_options()
    {
        var options = new WebSocketServerOptions { CloseTimeout = TimeSpan.FromSeconds(3), MaxBufferedAmount = 12345, SlowConsumerPolicy = WebSocketSlowConsumerPolicy.Drop };
        using var server = new WebSocketServer(Options.Create(options), NullLoggerFactory.Instance, new NoMeters(), []);

        WebSocketConnectionSettings first = server.ConnectionSettingsFor(Limits, Interval, Timeout, autoCork: true);
        WebSocketConnectionSettings second = server.ConnectionSettingsFor(new DecoderLimits(1000, 1000, 10), Interval, Timeout, autoCork: true);

        Assert.Same(first, second);
        Assert.Equal(WebSocketRole.Server, first.Role);
        Assert.Equal(Limits, first.Limits);
        Assert.Equal(Interval, first.KeepAliveInterval);
        Assert.Equal(Timeout, first.KeepAliveTimeout);
        Assert.True(first.AutoCork);
        Assert.Equal(TimeSpan.FromSeconds(3), first.CloseTimeout);
        Assert.Equal(12345, first.MaxBufferedAmount);
        Assert.Equal(WebSocketSlowConsumerPolicy.Drop, first.SlowConsumerPolicy);
        Assert.Same(server.Heartbeat, first.Heartbeat);
        Assert.Same(server.Metrics, first.Metrics);
        Assert.True(first.OwnerUnregisters);
    }

    [Fact]
    public void Any_difference_gets_its_own_instance()
    {
        using var server = new WebSocketServer(Options.Create(new WebSocketServerOptions()), NullLoggerFactory.Instance, new NoMeters(), []);
        WebSocketConnectionSettings baseline = server.ConnectionSettingsFor(Limits, Interval, Timeout, autoCork: false);

        Assert.NotSame(baseline, server.ConnectionSettingsFor(Limits, Interval, Timeout, autoCork: true));
        Assert.NotSame(baseline, server.ConnectionSettingsFor(new DecoderLimits(2000, 1000, 10), Interval, Timeout, autoCork: false));
        Assert.NotSame(baseline, server.ConnectionSettingsFor(Limits, TimeSpan.FromSeconds(31), Timeout, autoCork: false));
        Assert.NotSame(baseline, server.ConnectionSettingsFor(Limits, Interval, TimeSpan.FromSeconds(11), autoCork: false));
        Assert.False(server.ConnectionSettingsFor(Limits, Interval, Timeout, autoCork: false).AutoCork);
    }

    [Fact]
    public void Keep_alive_times_chosen_per_request_do_not_grow_the_cache_without_bound()
    {
        using var server = new WebSocketServer(Options.Create(new WebSocketServerOptions()), NullLoggerFactory.Instance, new NoMeters(), []);
        const int Requests = 1000;
        var distinct = new HashSet<WebSocketConnectionSettings>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < Requests; i++)
        {
            WebSocketConnectionSettings settings = server.ConnectionSettingsFor(Limits, TimeSpan.FromMilliseconds(1000 + i), Timeout, autoCork: false);
            Assert.Equal(TimeSpan.FromMilliseconds(1000 + i), settings.KeepAliveInterval); // correct whether cached or not
            distinct.Add(settings);
        }

        Assert.Equal(Requests, distinct.Count);

        // The first ones were cached and are shared; the ones past the bound are not kept.
        Assert.Same(server.ConnectionSettingsFor(Limits, TimeSpan.FromMilliseconds(1000), Timeout, autoCork: false), server.ConnectionSettingsFor(Limits, TimeSpan.FromMilliseconds(1000), Timeout, autoCork: false));
        Assert.NotSame(server.ConnectionSettingsFor(Limits, TimeSpan.FromMilliseconds(1999), Timeout, autoCork: false), server.ConnectionSettingsFor(Limits, TimeSpan.FromMilliseconds(1999), Timeout, autoCork: false));
    }

    [Fact]
    public async Task A_connection_keeps_its_own_negotiated_values_beside_the_shared_settings()
    {
        using var server = new WebSocketServer(Options.Create(new WebSocketServerOptions()), NullLoggerFactory.Instance, new NoMeters(), []);
        WebSocketConnectionSettings shared = server.ConnectionSettingsFor(Limits, Interval, Timeout, autoCork: false);
        var transport = new AspNetWebSockets.Transport.StreamTransport(new MemoryStream());
        await using var first = new WebSocketConnection(transport, shared, new PerConnectionSettings { SubProtocol = "chat", Extensions = "x-test", ConnectionId = "one" });
        await using var second = new WebSocketConnection(new AspNetWebSockets.Transport.StreamTransport(new MemoryStream()), shared, new PerConnectionSettings { ConnectionId = "two" });

        Assert.Equal(("chat", "x-test", "one"), (first.Protocol, first.Extensions, first.ConnectionId));
        Assert.Equal((string.Empty, string.Empty, "two"), (second.Protocol, second.Extensions, second.ConnectionId));
        first.Abort();
        second.Abort();
    }
}
