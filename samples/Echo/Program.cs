using AspNetWebSockets;
using Serilog;

// Echo sample: every message on /echo goes back as it came (text as text, binary as binary), up to 64 MiB.
// Run: dotnet run --project samples/Echo [--urls http://127.0.0.1:5080] [--event-loop]
// --event-loop runs it in the event-loop execution mode (builder.WebHost.UseWebSocketEventLoop(): socket completions,
// receives and sends all run inline on the runtime's epoll threads, everything one read causes leaves in one flush),
// as in build/bench/README.md's "E" column. Handlers must then not block; this one never does.
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
    .WriteTo.Console());

builder.Services.AddWebSockets(o =>
{
    o.MaxMessageSize = 64 * 1024 * 1024;
    // An echo has no cookies or secrets to protect, so any page may try it (from its own console, or a file:// page).
    // Real apps keep the same-origin default, which stops cross-site WebSocket hijacking.
    o.AllowAnyOrigin = true;
});

var app = builder.Build();

app.MapGet("/", () => Results.Content(EchoPage.Html, "text/html; charset=utf-8"));

app.MapWebSocket("/echo", async (WebSocketConnection socket, CancellationToken closed) =>
{
    await foreach (WebSocketMessage message in socket.ReadAllAsync(closed))
    {
        await socket.SendAsync(message.Data, message.Type, closed);
    }
}).WithCompression(); // permessage-deflate: echoing what the client sent has no secrets to leak (CRIME/BREACH)

app.Lifetime.ApplicationStarted.Register(() =>
{
    foreach (string url in app.Urls)
    {
        app.Logger.LogInformation("Echo sample listening: open {Url} in a browser, or connect a WebSocket client to {EchoUrl}", url, url.Replace("http", "ws", StringComparison.Ordinal) + "/echo");
    }
});

app.Run();

/// <summary>The entry point, visible to WebApplicationFactory in the integration tests.</summary>
public partial class Program;
