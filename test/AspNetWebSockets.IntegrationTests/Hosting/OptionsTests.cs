using System.Threading.Channels;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Options;

namespace AspNetWebSockets.IntegrationTests.Hosting;

/// <summary>Options are validated at startup; message size limits apply per endpoint and server-wide, closing with 1009.</summary>
public sealed class OptionsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<T> Within<T>(Task<T> task) => task.WaitAsync(TimeSpan.FromSeconds(10), Ct);

    private static readonly Dictionary<string, (Action<WebSocketServerOptions> Configure, string Mentions)> InvalidOptions = new()
    {
        ["MaxMessageSize 0"] = (o => o.MaxMessageSize = 0, nameof(WebSocketServerOptions.MaxMessageSize)),
        ["MaxMessageSize negative"] = (o => o.MaxMessageSize = -1, nameof(WebSocketServerOptions.MaxMessageSize)),
        ["MaxFrameSize 0"] = (o => o.MaxFrameSize = 0, nameof(WebSocketServerOptions.MaxFrameSize)),
        ["MaxFragmentsPerMessage 0"] = (o => o.MaxFragmentsPerMessage = 0, nameof(WebSocketServerOptions.MaxFragmentsPerMessage)),
        ["CloseTimeout negative"] = (o => o.CloseTimeout = TimeSpan.FromSeconds(-1), nameof(WebSocketServerOptions.CloseTimeout)),
        ["CloseTimeout infinite"] = (o => o.CloseTimeout = Timeout.InfiniteTimeSpan, nameof(WebSocketServerOptions.CloseTimeout)),
        ["ShutdownTimeout zero"] = (o => o.ShutdownTimeout = TimeSpan.Zero, nameof(WebSocketServerOptions.ShutdownTimeout)),
        ["KeepAliveInterval zero"] = (o => o.KeepAliveInterval = TimeSpan.Zero, nameof(WebSocketServerOptions.KeepAliveInterval)),
        ["KeepAliveTimeout negative"] = (o => o.KeepAliveTimeout = TimeSpan.FromSeconds(-5), nameof(WebSocketServerOptions.KeepAliveTimeout)),
        ["RequireSubProtocol without subprotocols"] = (o => o.RequireSubProtocol = true, nameof(WebSocketServerOptions.RequireSubProtocol)),
        ["AllowedOrigins 'not a url'"] = (o => o.AllowedOrigins.Add("not a url"), "not a url"),
        ["AllowedOrigins with a path"] = (o => o.AllowedOrigins.Add("https://example.com/app"), "https://example.com/app"),
        ["subprotocol 'bad token'"] = (o => o.SubProtocols.Add("bad token"), "bad token"),
        ["empty subprotocol"] = (o => o.SubProtocols.Add(""), "Subprotocol ''"),
    };

    public static TheoryData<string> InvalidOptionNames => new(InvalidOptions.Keys);

    private static WebApplication Build(Action<WebSocketServerOptions> configure)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddWebSockets(configure);
        return builder.Build();
    }

    [Theory]
    [MemberData(nameof(InvalidOptionNames))]
    public async Task Invalid_options_make_StartAsync_throw(string name)
    {
        (Action<WebSocketServerOptions> configure, string mentions) = InvalidOptions[name];
        await using WebApplication app = Build(configure);

        OptionsValidationException error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync(Ct));

        Assert.Equal(typeof(WebSocketServerOptions), error.OptionsType);
        Assert.Contains(error.Failures, f => f.Contains(mentions, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(InvalidOptionNames))]
    public async Task Invalid_options_make_StartAsync_throw_when_a_WebSocket_endpoint_is_mapped(string name)
    {
        (Action<WebSocketServerOptions> configure, string mentions) = InvalidOptions[name];
        await using WebApplication app = Build(configure);
        app.MapWebSocket("/ws", (WebSocketConnection socket) => Task.CompletedTask);

        OptionsValidationException error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync(Ct));

        Assert.Contains(error.Failures, f => f.Contains(mentions, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Every_failure_is_reported_at_once()
    {
        await using WebApplication app = Build(o =>
        {
            o.MaxMessageSize = 0;
            o.CloseTimeout = TimeSpan.FromSeconds(-1);
            o.AllowedOrigins.Add("not a url");
        });

        OptionsValidationException error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync(Ct));

        Assert.Equal(3, error.Failures.Count());
    }

    [Theory]
    [InlineData("https://example.com")]
    [InlineData("http://localhost:5000")]
    [InlineData("null")]
    public async Task Valid_edge_values_start(string origin)
    {
        await using WebApplication app = Build(o =>
        {
            o.MaxMessageSize = 1;
            o.KeepAliveInterval = Timeout.InfiniteTimeSpan;
            o.KeepAliveTimeout = Timeout.InfiniteTimeSpan;
            o.AllowedOrigins.Add(origin);
            o.SubProtocols.Add("chat.v1");
            o.RequireSubProtocol = true;
        });
        app.MapWebSocket("/ws", (WebSocketConnection socket) => Task.CompletedTask);

        await app.StartAsync(Ct);
        await app.StopAsync(Ct);
    }

    /// <summary>An echo endpoint that reports how each server-side connection ended.</summary>
    private static void MapEcho(WebApplication app, string path, Channel<WebSocketCloseInfo> serverCloses, long? maxMessageSize = null)
    {
        WebSocketEndpointConventionBuilder endpoint = app.MapWebSocket(path, async (WebSocketConnection socket) =>
        {
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                await socket.SendAsync(message.Data, message.Type);
            }

            serverCloses.Writer.TryWrite(await socket.Closed);
        });
        if (maxMessageSize is long size)
        {
            endpoint.WithMaxMessageSize(size);
        }
    }

    private static async Task AssertEchoesAsync(TestApp app, string path, Channel<WebSocketCloseInfo> serverCloses, int size)
    {
        await using (WebSocketConnection client = await app.ConnectAsync(path))
        {
            byte[] payload = new byte[size];
            Random.Shared.NextBytes(payload);

            await client.SendBinaryAsync(payload, Ct);
            using WebSocketMessage? echo = await client.ReceiveAsync(Ct);

            Assert.Equal(payload, echo?.ToArray());
        }

        Assert.Equal(WebSocketCloseCode.NormalClosure, (await Within(serverCloses.Reader.ReadAsync(Ct).AsTask())).Code);
    }

    /// <summary>
    /// Sends a message of <paramref name="size"/> bytes (in one frame, or as two fragments: all but the last byte, then
    /// the last byte) and asserts the server failed the connection with 1009; with <paramref name="checkClient"/>, also
    /// that the client's Closed reports 1009.
    /// </summary>
    private static async Task AssertTooBigAsync(TestApp app, string path, Channel<WebSocketCloseInfo> serverCloses, int size, bool fragmented, bool checkClient)
    {
        await using WebSocketConnection client = await app.ConnectAsync(path);
        try
        {
            if (fragmented)
            {
                await using WebSocketMessageWriter writer = await client.BeginMessageAsync(WebSocketMessageType.Binary, Ct);
                await writer.WriteAsync(new byte[size - 1], Ct);
                await writer.CompleteAsync(new byte[1], Ct);
            }
            else
            {
                await client.SendBinaryAsync(new byte[size], Ct);
            }
        }
        catch (WebSocketException) when (!checkClient)
        {
            // The server may fail the connection while the client is still sending (see the skipped tests below).
        }

        WebSocketCloseInfo server = await Within(serverCloses.Reader.ReadAsync(Ct).AsTask());
        Assert.Equal(WebSocketCloseCode.MessageTooBig, server.Code);
        Assert.False(server.WasClean);
        if (checkClient)
        {
            Assert.Null(await client.ReceiveAsync(Ct));
            Assert.Equal(WebSocketCloseCode.MessageTooBig, (await Within(client.Closed)).Code);
        }
    }

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task WithMaxMessageSize_limits_only_its_endpoint(TransportMode mode)
    {
        var closes = Channel.CreateUnbounded<WebSocketCloseInfo>();
        await using TestApp app = await TestApp.StartAsync(mode, a =>
        {
            MapEcho(a, "/small", closes, maxMessageSize: 10);
            MapEcho(a, "/default", closes);
        });

        await AssertEchoesAsync(app, "/small", closes, 10);
        await AssertTooBigAsync(app, "/small", closes, 11, fragmented: false, checkClient: mode != TransportMode.InMemory);
        await AssertEchoesAsync(app, "/default", closes, 11);
        await AssertEchoesAsync(app, "/default", closes, 64 * 1024);
    }

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task WithMaxMessageSize_counts_the_whole_fragmented_message(TransportMode mode)
    {
        var closes = Channel.CreateUnbounded<WebSocketCloseInfo>();
        await using TestApp app = await TestApp.StartAsync(mode, a => MapEcho(a, "/small", closes, maxMessageSize: 10));

        await AssertTooBigAsync(app, "/small", closes, 11, fragmented: true, checkClient: mode != TransportMode.InMemory);
    }

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task Default_limit_is_1_MiB_and_a_bigger_message_closes_with_1009(TransportMode mode)
    {
        var closes = Channel.CreateUnbounded<WebSocketCloseInfo>();
        await using TestApp app = await TestApp.StartAsync(mode, a => MapEcho(a, "/default", closes));

        await AssertEchoesAsync(app, "/default", closes, 1024 * 1024);
        await AssertTooBigAsync(app, "/default", closes, (1024 * 1024) + 1, fragmented: true, checkClient: mode != TransportMode.InMemory);
        await AssertTooBigAsync(app, "/default", closes, (1024 * 1024) + 1, fragmented: false, checkClient: false);
    }

    [Fact]
    public async Task Options_MaxMessageSize_applies_to_endpoints_and_WithMaxMessageSize_can_raise_it()
    {
        var closes = Channel.CreateUnbounded<WebSocketCloseInfo>();
        await using TestApp app = await TestApp.StartAsync(
            TransportMode.InMemory,
            a =>
            {
                MapEcho(a, "/server-limit", closes);
                MapEcho(a, "/raised", closes, maxMessageSize: 1000);
            },
            o => o.MaxMessageSize = 100);

        await AssertEchoesAsync(app, "/server-limit", closes, 100);
        await AssertTooBigAsync(app, "/server-limit", closes, 101, fragmented: false, checkClient: false);
        await AssertEchoesAsync(app, "/raised", closes, 1000);
        await AssertTooBigAsync(app, "/raised", closes, 1001, fragmented: false, checkClient: false);
    }

    [Fact]
    public async Task In_memory_client_sees_the_servers_1009()
    {
        var closes = Channel.CreateUnbounded<WebSocketCloseInfo>();
        await using TestApp app = await TestApp.StartAsync(TransportMode.InMemory, a => MapEcho(a, "/small", closes, maxMessageSize: 10));

        await AssertTooBigAsync(app, "/small", closes, 11, fragmented: false, checkClient: true);
    }

    [Theory]
    [InlineData(TransportMode.KestrelPipes)]
    [InlineData(TransportMode.KestrelStream)]
    public async Task Client_sending_one_over_limit_frame_on_Kestrel_sees_1009(TransportMode mode)
    {
        var closes = Channel.CreateUnbounded<WebSocketCloseInfo>();
        await using TestApp app = await TestApp.StartAsync(mode, a => MapEcho(a, "/default", closes));

        for (int attempt = 0; attempt < 5; attempt++) // timing-dependent: most attempts fail while the bug stands
        {
            await AssertTooBigAsync(app, "/default", closes, (1024 * 1024) + 1, fragmented: false, checkClient: true);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task WithMaxMessageSize_refuses_a_non_positive_size(long size)
    {
        await using WebApplication app = Build(_ => { });
        WebSocketEndpointConventionBuilder endpoint = app.MapWebSocket("/ws", (WebSocketConnection socket) => Task.CompletedTask);

        Assert.Throws<ArgumentOutOfRangeException>(() => endpoint.WithMaxMessageSize(size));
    }
}
