// The migration case: a Program.cs that still imports the framework's WebSocket namespace. With it in scope, an untyped
// `builder.Services.AddWebSockets(o => o.KeepAliveInterval = ...)` is ambiguous (CS0121) between the framework's
// AddWebSockets(Action<WebSocketOptions>) and ours, because both lambdas bind. This file is the compile test: the
// forms README's drop-in section documents must build with that using in place, and must configure *our* options.
using Microsoft.AspNetCore.TestHost;
using Microsoft.AspNetCore.WebSockets;
using Microsoft.Extensions.Options;

namespace AspNetWebSockets.IntegrationTests.Compatibility;

/// <summary>The documented ways to call <c>AddWebSockets</c> with options in a file that imports <c>Microsoft.AspNetCore.WebSockets</c>.</summary>
public sealed class MigrationCompileTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(42);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_typed_lambda_picks_our_options()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();

        // Naming the parameter's type leaves exactly one applicable overload.
        builder.Services.AddWebSockets((WebSocketServerOptions o) => o.KeepAliveInterval = Interval);

        await AssertOursConfiguredAsync(builder);
    }

    [Fact]
    public async Task AddWebSockets_then_Configure_picks_our_options()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();

        // The parameterless overload exists only on our side; options are configured as any other options type.
        builder.Services.AddWebSockets();
        builder.Services.Configure<WebSocketServerOptions>(o => o.KeepAliveInterval = Interval);

        await AssertOursConfiguredAsync(builder);
    }

    private static async Task AssertOursConfiguredAsync(WebApplicationBuilder builder)
    {
        await using WebApplication app = builder.Build();
        app.MapWebSocket("/ws", (WebSocketConnection socket) => Task.CompletedTask);
        await app.StartAsync(Ct);

        Assert.Equal(Interval, app.Services.GetRequiredService<IOptions<WebSocketServerOptions>>().Value.KeepAliveInterval);

        // The framework's options were not the ones configured (they keep their default of two minutes).
        Assert.NotEqual(Interval, app.Services.GetRequiredService<IOptions<WebSocketOptions>>().Value.KeepAliveInterval);
        await app.StopAsync(Ct);
    }
}
