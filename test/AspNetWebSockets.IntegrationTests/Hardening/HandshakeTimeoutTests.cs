using System.Net.Sockets;
using AspNetWebSockets.Hosting;
using AspNetWebSockets.IntegrationTests.Hosting;
using AspNetWebSockets.TestShared;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace AspNetWebSockets.IntegrationTests.Hardening;

/// <summary>
/// <see cref="WebSocketServerOptions.HandshakeTimeout"/> (ADVISORIES 20, issue #4): a client that connects and says
/// nothing, or drips its upgrade request (slowloris), is disconnected; once upgraded, no handshake timer applies.
/// </summary>
public sealed class HandshakeTimeoutTests
{
    // Kestrel checks its timeouts on a one-second heartbeat; a one-second handshake timeout therefore fires within about
    // two seconds. The waits below are generous ceilings against Kestrel's 130 s / 30 s defaults, not measurements.
    private static readonly TimeSpan ShortHandshake = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Ceiling = TimeSpan.FromSeconds(25);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<TestApp> StartAsync(Counter handlerRuns) => TestApp.StartAsync(
        HardeningCollection.Transport,
        a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
        {
            handlerRuns.Increment();
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                await socket.SendAsync(message.Data, message.Type, Ct);
            }
        }),
        o => o.HandshakeTimeout = ShortHandshake);

    [Fact]
    public async Task A_client_that_connects_and_sends_nothing_is_disconnected()
    {
        var runs = new Counter();
        await using TestApp app = await StartAsync(runs);
        using RawWebSocketClient silent = await RawWebSocketClient.ConnectTcpAsync(app.HttpAddress);

        Assert.True(await silent.WaitForServerCloseAsync(Ceiling), "A silent connection outlived the handshake timeout by far.");
        Assert.Equal(0, runs.Value);
    }

    [Fact]
    public async Task A_client_that_drips_its_upgrade_request_gets_408_or_is_disconnected()
    {
        var runs = new Counter();
        await using TestApp app = await StartAsync(runs);
        using RawWebSocketClient drip = await RawWebSocketClient.ConnectTcpAsync(app.HttpAddress);
        byte[] request = RawRequest.Upgrade(app.HttpAddress).ToBytes();

        // One byte every 100 ms: the whole request would take ~15 s, far beyond the 1 s timeout. Bounded by the request
        // length; a write failing means the server has already hung up, which is the expected outcome.
        int sent = 0;
        try
        {
            for (; sent < request.Length - 1; sent++)
            {
                await drip.SendAsync(request.AsMemory(sent, 1), Ct);
                await Task.Delay(100, Ct);
            }
        }
        catch (SocketException)
        {
        }

        Assert.True(sent < request.Length - 1, "The server kept reading a request dripped over ~15 s.");
        Assert.True(await drip.WaitForServerCloseAsync(Ceiling));
        Assert.Equal(0, runs.Value);
    }

    [Fact]
    public async Task The_408_for_a_dripped_request_is_Kestrels_and_nothing_reaches_the_handler()
    {
        var runs = new Counter();
        await using TestApp app = await StartAsync(runs);
        using RawWebSocketClient drip = await RawWebSocketClient.ConnectTcpAsync(app.HttpAddress);

        // The request line and one header, then nothing: the request-headers timeout (now the handshake timeout) fires.
        await drip.SendAsync("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n"u8.ToArray(), Ct);
        string head = await drip.ReadResponseHeadAsync(Ceiling);

        Assert.StartsWith("HTTP/1.1 408", head, StringComparison.Ordinal);
        Assert.True(await drip.WaitForServerCloseAsync(Ceiling));
        Assert.Equal(0, runs.Value);
    }

    [Fact]
    public async Task After_the_upgrade_no_handshake_timer_runs()
    {
        var runs = new Counter();
        await using TestApp app = await StartAsync(runs);
        await using WebSocketConnection client = await app.ConnectAsync("/ws");

        // Three handshake timeouts of silence (keep-alive is 30 s by default, so nothing else can end it meanwhile).
        await Task.Delay(ShortHandshake * 3, Ct);

        await client.SendTextAsync("still here", Ct);
        using WebSocketMessage? echo = await client.ReceiveAsync(Ct);
        Assert.Equal("still here", echo?.GetText());
        Assert.Equal(1, runs.Value);
    }

    [Fact]
    public void Kestrel_limits_still_at_their_defaults_take_the_handshake_timeout()
    {
        KestrelServerLimits limits = KestrelLimits(o => o.HandshakeTimeout = TimeSpan.FromSeconds(7));

        Assert.Equal(TimeSpan.FromSeconds(7), limits.RequestHeadersTimeout);
        Assert.Equal(TimeSpan.FromSeconds(7), limits.KeepAliveTimeout);
    }

    [Fact]
    public void The_default_handshake_timeout_is_10_seconds_and_reaches_Kestrel()
    {
        KestrelServerLimits limits = KestrelLimits(_ => { });

        Assert.Equal(TimeSpan.FromSeconds(10), new WebSocketServerOptions().HandshakeTimeout);
        Assert.Equal(TimeSpan.FromSeconds(10), limits.RequestHeadersTimeout);
        Assert.Equal(TimeSpan.FromSeconds(10), limits.KeepAliveTimeout);
    }

    [Fact]
    public void Kestrel_limits_the_application_set_itself_are_left_alone_whatever_the_registration_order()
    {
        KestrelServerLimits before = KestrelLimits(o => o.HandshakeTimeout = TimeSpan.FromSeconds(7), kestrelFirst: true);
        KestrelServerLimits after = KestrelLimits(o => o.HandshakeTimeout = TimeSpan.FromSeconds(7), kestrelFirst: false);

        foreach (KestrelServerLimits limits in new[] { before, after })
        {
            Assert.Equal(TimeSpan.FromSeconds(45), limits.RequestHeadersTimeout);
            Assert.Equal(TimeSpan.FromSeconds(200), limits.KeepAliveTimeout);
        }
    }

    [Fact]
    public void An_infinite_handshake_timeout_leaves_Kestrel_at_its_defaults()
    {
        KestrelServerLimits limits = KestrelLimits(o => o.HandshakeTimeout = Timeout.InfiniteTimeSpan);

        Assert.Equal(new KestrelServerLimits().RequestHeadersTimeout, limits.RequestHeadersTimeout);
        Assert.Equal(new KestrelServerLimits().KeepAliveTimeout, limits.KeepAliveTimeout);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void A_non_positive_handshake_timeout_is_refused_at_startup(int seconds)
    {
        var options = new WebSocketServerOptions { HandshakeTimeout = TimeSpan.FromSeconds(seconds) };

        ValidateOptionsResult result = new WebSocketServerOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(nameof(WebSocketServerOptions.HandshakeTimeout), result.FailureMessage, StringComparison.Ordinal);
    }

    private static KestrelServerLimits KestrelLimits(Action<WebSocketServerOptions> configure, bool? kestrelFirst = null)
    {
        var services = new ServiceCollection();
        void SetKestrel() => services.Configure<KestrelServerOptions>(k =>
        {
            k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(45);
            k.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(200);
        });

        if (kestrelFirst == true)
        {
            SetKestrel();
        }

        services.AddLogging().AddWebSockets(configure);
        if (kestrelFirst == false)
        {
            SetKestrel();
        }

        using ServiceProvider provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits;
    }
}
