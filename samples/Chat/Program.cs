using System.Security.Claims;
using System.Text.Json;
using AspNetWebSockets;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.IdentityModel.Tokens;
using Serilog;

// Chat sample: sign in with a name (POST /token issues a short-lived JWT), then /chat/{room}?access_token=... with
// subprotocol chat.v1; a live member list per room, direct messages ("/msg bob hi"), and the socket closes with 1008
// when the token expires (the page gets a new token and reconnects). A page at /.
// Run: dotnet run --project samples/Chat [-- --urls http://127.0.0.1:5090] [--redis 127.0.0.1:6379] [--tokenLifetimeSeconds 30] [--event-loop]
// With --redis (or configuration key "redis"), two instances on two ports sharing that Redis form one chat (rooms,
// member lists and direct messages span both).
// Traces and metrics: --otel console prints them; OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://127.0.0.1:4317) sends them by OTLP.
// --event-loop runs it in the event-loop execution mode (builder.WebHost.UseWebSocketEventLoop(): socket completions,
// receives and sends all run inline on the runtime's epoll threads, everything one read causes leaves in one flush).
// Handlers must then not block: every await here is asynchronous I/O, and a callback that holds its thread longer than
// the stall threshold (50 ms) is logged and counted (websocket.server.event_loop.stalls). Inline completions are
// process-wide, so they also apply to the Redis connection.
// A bare switch: it leaves args before configuration reads them, which would take the next argument as its value.
bool eventLoop = args.Contains("--event-loop");
var builder = WebApplication.CreateBuilder(Array.FindAll(args, a => a != "--event-loop"));
if (eventLoop)
{
    builder.WebHost.UseWebSocketEventLoop();
}
// Each host gets its own Serilog logger (no static bootstrap logger): tests host this app several times in one process,
// and a shared bootstrap logger can be frozen only once.
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
builder.Services.AddWebSocketAccessTokens(); // the token leaves the query string before anything logs the request
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
    string prefix = builder.Configuration["redisPrefix"] ?? "chat-sample";
    groups.AddRedisBackplane(redis, o => o.ChannelPrefix = prefix)
          .AddRedisPresence(redis, o => o.KeyPrefix = prefix);
    health.AddRedisBackplaneCheck();
}

builder.Services.AddSingleton<ChatTokens>();
builder.Services.AddAuthorization();
builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).Configure<ChatTokens>((o, tokens) =>
{
    o.TokenValidationParameters = new TokenValidationParameters
    {
        ValidateIssuer = false,
        ValidateAudience = false,
        IssuerSigningKey = tokens.Key,
        ClockSkew = TimeSpan.Zero, // expiry is part of the demo
    };
    o.Events = new JwtBearerEvents
    {
        // Browsers cannot send Authorization on a WebSocket: take the token from the query string, on WebSocket endpoints only.
        OnMessageReceived = c =>
        {
            c.Token ??= c.Request.GetWebSocketAccessToken();
            return Task.CompletedTask;
        },
    };
});

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

app.MapPost("/token", (TokenRequest request, ChatTokens tokens) =>
{
    if (!ChatTokens.IsValidName(request.Name))
    {
        return Results.BadRequest("A name is 1-32 letters, digits, '_' or '-'.");
    }

    (string token, DateTime expires) = tokens.Issue(request.Name!);
    return Results.Ok(new { token, expiresAt = expires });
});

app.MapWebSocket("/chat/{room:regex(^[A-Za-z0-9_-]{{1,32}}$)}", async (WebSocketConnection socket, string room, ClaimsPrincipal user, IWebSocketGroups rooms, IWebSocketSender sender, ILogger<Program> logger) =>
{
    string name = user.FindFirstValue(ClaimTypes.NameIdentifier)!;
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

            // "/msg <name> <text>": a direct message to every connection of that user, on any node, and a copy to the sender's.
            if (text.StartsWith("/msg ", StringComparison.Ordinal) && text[5..].Split(' ', 2) is [var to, var body] && ChatTokens.IsValidName(to))
            {
                string direct = Json(new { type = "direct", from = name, to, text = body, at = DateTimeOffset.UtcNow });
                await sender.SendAsync(WebSocketTarget.User(to), direct);
                if (to != name)
                {
                    await sender.SendAsync(WebSocketTarget.User(name), direct);
                }

                continue;
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
})
.WithSubProtocols("chat.v1")
.RequireAuthorization()
.CloseOnAuthenticationExpiration();

// Member lists: every node hears every room change (presence spans nodes with Redis) and sends the room's current members,
// across all nodes, to its own connections in that room.
IWebSocketPresence presence = app.Services.GetRequiredService<IWebSocketPresence>();
IWebSocketGroups localRooms = app.Services.GetRequiredService<IWebSocketGroups>();
IWebSocketSender localSender = app.Services.GetRequiredService<IWebSocketSender>();
presence.Subscribe(async change =>
{
    if (change.Group is not { } room)
    {
        return;
    }

    IReadOnlyList<WebSocketPresenceMember> members = await presence.GetGroupMembersAsync(room);
    var list = WebSocketPreparedMessage.Text(Json(new { type = "members", room, users = members.Select(m => m.UserId).OfType<string>().Distinct().Order().ToArray() }));
    foreach (WebSocketConnection member in localRooms.GetLocalMembers(room))
    {
        // A local connection id never reaches the backplane; the send does not wait for a slow member.
        await localSender.SendAsync(WebSocketTarget.Connection(member.ConnectionId), list);
    }
});

app.Lifetime.ApplicationStarted.Register(() =>
{
    foreach (string url in app.Urls)
    {
        app.Logger.LogInformation("Chat sample listening: open {Url} in a browser (backplane and presence: {Backplane})", url, string.IsNullOrWhiteSpace(redis) ? "in-memory" : "redis " + redis);
    }
});

app.Run();

static string Json<T>(T value) => JsonSerializer.Serialize(value);

/// <summary>The body of POST /token.</summary>
/// <param name="Name">The name to sign in with.</param>
internal sealed record TokenRequest(string? Name);

/// <summary>The entry point, visible to WebApplicationFactory in tests.</summary>
public partial class Program;
