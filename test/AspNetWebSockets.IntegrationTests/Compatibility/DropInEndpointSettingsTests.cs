using AspNetWebSockets.Hosting;
using AspNetWebSockets.IntegrationTests.Hosting;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace AspNetWebSockets.IntegrationTests.Compatibility;

/// <summary>
/// One upgrade path: <c>AcceptWebSocketAsync</c> under <c>UseAspNetWebSockets</c> resolves the settings of the endpoint the
/// request reached exactly as <c>MapWebSocket</c> does (it used to take the server options only), and is refused while
/// draining as MapWebSocket is (it used to throw from <c>AcceptWebSocketAsync</c>).
/// </summary>
public sealed class DropInEndpointSettingsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_endpoints_message_size_limit_applies_on_the_drop_in_path()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseLoopbackKestrel();
        builder.Logging.ClearProviders();
        builder.Services.AddWebSockets(o => o.MaxMessageSize = 1 << 20);
        await using WebApplication app = builder.Build();
        app.UseRouting();
        app.UseAspNetWebSockets();

        // Endpoint metadata as MapWebSocket's WithMaxMessageSize records it, here on a plain endpoint the drop-in serves.
        app.Map("/small", Echo).WithMetadata(new MaxMessageSizeMetadata(16));
        app.Map("/large", Echo);
        await app.StartAsync(Ct);

        Assert.Equal(WebSocketCloseStatus.MessageTooBig, await SendAsync(app, "/small", 17));
        Assert.Null(await SendAsync(app, "/large", 17)); // echoed: the server's own limit
        await app.StopAsync(Ct);
    }

    [Fact]
    public async Task A_draining_server_refuses_drop_in_upgrades_with_503_and_Retry_After_before_the_app_runs()
    {
        int appCalls = 0;
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseLoopbackKestrel();
        builder.Logging.ClearProviders();
        builder.Services.AddWebSockets(o => o.Drain.RetryAfter = TimeSpan.FromSeconds(3));
        await using WebApplication app = builder.Build();
        app.UseAspNetWebSockets();
        app.Run(context =>
        {
            Interlocked.Increment(ref appCalls);
            return Echo(context);
        });
        await app.StartAsync(Ct);
        Uri address = new(app.Urls.First());

        await app.Services.GetRequiredService<IWebSocketDrain>().DrainAsync(Ct).WaitAsync(TimeSpan.FromSeconds(15), Ct);
        RawResponse refused = await RawHttp.SendAsync(address, RawRequest.Upgrade(address));

        Assert.Equal(503, refused.StatusCode);
        Assert.Equal("3", refused.Header("Retry-After"));
        Assert.Equal(0, appCalls);
        await app.StopAsync(Ct);
    }

    [Fact]
    public async Task The_endpoints_message_rate_limit_applies_on_the_drop_in_path()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseLoopbackKestrel();
        builder.Logging.ClearProviders();
        builder.Services.AddWebSockets();
        await using WebApplication app = builder.Build();
        app.UseRouting();
        app.UseAspNetWebSockets();
        app.Map("/drain-all", async context =>
        {
            using WebSocket socket = await context.WebSockets.AcceptWebSocketAsync();
            byte[] buffer = new byte[64];
            while ((await socket.ReceiveAsync(buffer, context.RequestAborted)).MessageType != WebSocketMessageType.Close)
            {
            }
        }).WithMessageRateLimit(o =>
        {
            o.MessagesPerSecond = 3;
            o.Policy = WebSocketRateLimitPolicy.Close;
        });
        await app.StartAsync(Ct);

        using var bound = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bound.CancelAfter(TimeSpan.FromSeconds(15));
        using var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri(new UriBuilder(app.Urls.First()) { Scheme = "ws" }.Uri, "/drain-all"), bound.Token);
        Task<WebSocketReceiveResult> closing = ws.ReceiveAsync(new byte[64], bound.Token);
        for (int i = 0; i < 100 && !closing.IsCompleted; i++)
        {
            try
            {
                await ws.SendAsync("flood"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, bound.Token);
            }
            catch (WebSocketException)
            {
                break; // the server closed under us
            }
        }

        WebSocketReceiveResult result = await closing;
        Assert.Equal(WebSocketMessageType.Close, result.MessageType);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, result.CloseStatus);
        await app.StopAsync(Ct);
    }

    private static async Task Echo(HttpContext context)
    {
        using WebSocket socket = await context.WebSockets.AcceptWebSocketAsync();
        byte[] buffer = new byte[64];
        WebSocketReceiveResult result = await socket.ReceiveAsync(buffer, context.RequestAborted);
        if (result.MessageType != WebSocketMessageType.Close)
        {
            await socket.SendAsync(buffer.AsMemory(0, result.Count), result.MessageType, result.EndOfMessage, context.RequestAborted);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, context.RequestAborted);
        }
    }

    /// <summary>Sends one binary message of <paramref name="size"/> bytes; returns the server's close status if it closed instead of echoing.</summary>
    private static async Task<WebSocketCloseStatus?> SendAsync(WebApplication app, string path, int size)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bound.CancelAfter(TimeSpan.FromSeconds(15));
        using var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri(new UriBuilder(app.Urls.First()) { Scheme = "ws" }.Uri, path), bound.Token);
        await ws.SendAsync(new byte[size], WebSocketMessageType.Binary, endOfMessage: true, bound.Token);
        byte[] buffer = new byte[64];
        WebSocketReceiveResult result = await ws.ReceiveAsync(buffer, bound.Token);
        if (result.MessageType == WebSocketMessageType.Close)
        {
            return result.CloseStatus;
        }

        Assert.Equal(size, result.Count);
        return null;
    }
}
