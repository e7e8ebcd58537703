using System.Text.Json;
using AspNetWebSockets;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Serilog;

// Chat sample: rooms on /chat/{room}?name=..., subprotocol chat.v1, presence, a page at /.
// Run: dotnet run --project samples/Chat [-- --urls http://127.0.0.1:5090] [--redis 127.0.0.1:6379]
// With --redis (or configuration key "redis"), two instances on two ports sharing that Redis form one chat.
// Traces and metrics: --otel console prints them; OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://127.0.0.1:4317) sends them by OTLP.
Log.Logger = new LoggerConfiguration()
    .MinimumLevel.Information()
    .WriteTo.Console()
    .CreateBootstrapLogger();

var builder = WebApplication.CreateBuilder(args);
builder.Host.UseSerilog((context, configuration) => configuration
    .ReadFrom.Configuration(context.Configuration)
    .MinimumLevel.Information()
    .MinimumLevel.Override("Microsoft.AspNetCore", Serilog.Events.LogEventLevel.Warning)
    .MinimumLevel.Override("AspNetWebSockets", Serilog.Events.LogEventLevel.Debug) // connection opened/closed
    .WriteTo.Console());

builder.Services.AddWebSockets(o =>
{
    o.MaxMessageSize = 16 * 1024;

    // Operating it: on shutdown (or POST /admin/drain) readiness fails, new upgrades get 503, and the 1001 closes are
    // spread over the window so the pages do not all reconnect at once. Development shuts down at once.
    o.Drain.Window = TimeSpan.FromSeconds(builder.Configuration.GetValue("drainWindowSeconds", builder.Environment.IsDevelopment() ? 0 : 10));
});
IHealthChecksBuilder health = builder.Services.AddHealthChecks().AddWebSocketReadiness();
ChatTelemetry.AddIfConfigured(builder);
WebSocketGroupsBuilder groups = builder.Services.AddWebSocketGroups(o =>
{
    o.MaxBufferedAmountPerMember = 256 * 1024;
    o.SlowMemberPolicy = WebSocketBroadcastOverflowPolicy.CloseTryAgainLater; // the page reconnects
});
string? redis = builder.Configuration["redis"];
if (!string.IsNullOrWhiteSpace(redis))
{
    groups.AddRedisBackplane(redis, o => o.ChannelPrefix = builder.Configuration["redisPrefix"] ?? "chat-sample");
    health.AddRedisBackplaneCheck();
}

var app = builder.Build();
app.UseSerilogRequestLogging();
app.UseDefaultFiles();
app.UseStaticFiles();

// Kubernetes-style probes: liveness runs no check (the process answers), readiness runs the "ready" ones.
app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });

// A preStop hook's drain (curl -X POST http://127.0.0.1:5090/admin/drain); only from the machine itself.
app.MapPost("/admin/drain", (HttpContext http, IWebSocketDrain drain) =>
{
    if (http.Connection.RemoteIpAddress is not { } remote || !System.Net.IPAddress.IsLoopback(remote))
    {
        return Results.NotFound();
    }

    _ = drain.DrainAsync();
    return Results.Accepted();
});

app.MapWebSocket("/chat/{room:regex(^[A-Za-z0-9_-]{{1,32}}$)}", async (WebSocketConnection socket, string room, HttpContext http, IWebSocketGroups rooms, ILogger<Program> logger) =>
{
    string name = http.Request.Query["name"].ToString().Trim() is { Length: > 0 and <= 32 } n ? n : "guest-" + Random.Shared.Next(1000, 10000);
    await rooms.AddAsync(socket, room);
    logger.LogInformation("{User} joined room {Room} ({Members} here)", name, room, rooms.GetLocalMembers(room).Count);
    await rooms.SendToGroupAsync(room, Json(new { type = "presence", @event = "join", user = name, room }));
    try
    {
        await foreach (WebSocketMessage message in socket.ReadAllAsync())
        {
            if (message.Type != System.Net.WebSockets.WebSocketMessageType.Text)
            {
                continue;
            }

            string text = message.GetText();
            if (text.Length > 1000)
            {
                text = text[..1000];
            }

            await rooms.SendToGroupAsync(room, Json(new { type = "message", user = name, text, at = DateTimeOffset.UtcNow }));
        }
    }
    finally
    {
        // The connection has left the group already (it closed); tell the others.
        await rooms.SendToGroupAsync(room, Json(new { type = "presence", @event = "leave", user = name, room }));
        logger.LogInformation("{User} left room {Room}", name, room);
    }
}).WithSubProtocols("chat.v1");

app.Lifetime.ApplicationStarted.Register(() =>
{
    foreach (string url in app.Urls)
    {
        Log.Information("Chat sample listening: open {Url} in a browser (backplane: {Backplane})", url, string.IsNullOrWhiteSpace(redis) ? "in-memory" : "redis " + redis);
    }
});

app.Run();

static string Json<T>(T value) => JsonSerializer.Serialize(value);

/// <summary>The entry point, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
