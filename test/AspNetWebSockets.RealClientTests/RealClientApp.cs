using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace AspNetWebSockets.RealClientTests;

/// <summary>
/// The app under test for the real clients: Kestrel on 127.0.0.1 with a port the OS picks, the test page at <c>/</c>
/// (the browser must load it from this server: Chromium blocks a routed page from opening a loopback WebSocket), and
/// these endpoints, each of which reports what the server saw through <see cref="NextConnectionAsync"/>:
/// <list type="bullet">
/// <item><c>/echo</c> — echoes every message (up to <see cref="MaxMessageSize"/>); permessage-deflate is off (the default).</item>
/// <item><c>/deflate</c> — the same with <c>.WithCompression()</c>: permessage-deflate is negotiated when offered.</item>
/// <item><c>/protocols</c> — <c>.WithSubProtocols("chat.v2", "chat.v1")</c>, then echoes.</item>
/// <item><c>/close/{code}</c> — closes with that code once a message arrives; the message's text is the reason.</item>
/// <item><c>/abort</c> — aborts the connection once a message arrives.</item>
/// </list>
/// </summary>
public sealed class RealClientApp : IAsyncDisposable
{
    /// <summary>The message limit of /echo and /deflate: above the 16 MiB the Node matrices send.</summary>
    public const long MaxMessageSize = 32 * 1024 * 1024;

    /// <summary>Subprotocols of /protocols, in the server's order of preference.</summary>
    public static readonly string[] SubProtocols = ["chat.v2", "chat.v1"];

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private readonly Channel<ServerConnection> _connections = Channel.CreateUnbounded<ServerConnection>();
    private WebApplication? _app;
    private int _stopped;

    private RealClientApp()
    {
    }

    /// <summary>The http:// address of the server (the test page is at its root).</summary>
    public Uri HttpAddress { get; private set; } = null!;

    /// <summary>The started app's services (for the execution-mode guard).</summary>
    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("The app has not started.");

    /// <summary>Starts the app; <paramref name="configure"/> adjusts the server options (keep-alive, timeouts, …).</summary>
    public static async Task<RealClientApp> StartAsync(Action<WebSocketServerOptions>? configure = null)
    {
        var result = new RealClientApp();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseLoopbackKestrel();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new TestOutputLoggerProvider());
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("AspNetWebSockets", LogLevel.Debug);
        builder.Services.AddWebSockets(o => configure?.Invoke(o));
        WebApplication app = builder.Build();
        result.Map(app);
        await app.StartAsync(TestContext.Current.CancellationToken);
        result._app = app;
        result.HttpAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return result;
    }

    /// <summary>The ws:// address of an endpoint of this app.</summary>
    public Uri WebSocketUri(string path) => new(new UriBuilder(HttpAddress) { Scheme = "ws" }.Uri, path);

    /// <summary>What the server saw of its next accepted connection (bounded wait).</summary>
    public async Task<ServerConnection> NextConnectionAsync()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(Wait);
        try
        {
            return await _connections.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"No WebSocket connection reached the server within {Wait.TotalSeconds} s.");
        }
    }

    /// <summary>Stops the host (open connections get 1001); later calls do nothing.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0 && _app is not null)
        {
            using var stop = new CancellationTokenSource(Wait);
            await _app.StopAsync(stop.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    private void Map(WebApplication app)
    {
        app.MapGet("/", () => Results.Content(TestPage.Html, "text/html; charset=utf-8"));

        // The handlers bind what they record of the handshake (no HttpContext), so they run on lean connections.
        app.MapWebSocket("/echo", (WebSocketConnection socket, [AsParameters] Offer offer) => Echo(socket, "/echo", offer)).WithMaxMessageSize(MaxMessageSize);
        app.MapWebSocket("/deflate", (WebSocketConnection socket, [AsParameters] Offer offer) => Echo(socket, "/deflate", offer)).WithMaxMessageSize(MaxMessageSize).WithCompression();

        app.MapWebSocket("/protocols", (WebSocketConnection socket, [AsParameters] Offer offer) => Echo(socket, "/protocols", offer)).WithSubProtocols(SubProtocols);

        app.MapWebSocket("/close/{code:int}", async (WebSocketConnection socket, [AsParameters] Offer offer, int code) =>
        {
            ServerConnection observed = Observe(socket, $"/close/{code}", offer);
            using WebSocketMessage? message = await socket.ReceiveAsync();
            if (message is not null)
            {
                observed.Record(message);
                await socket.CloseAsync(code, message.GetText());
            }
        });

        app.MapWebSocket("/abort", async (WebSocketConnection socket, [AsParameters] Offer offer) =>
        {
            ServerConnection observed = Observe(socket, "/abort", offer);
            using WebSocketMessage? message = await socket.ReceiveAsync();
            if (message is not null)
            {
                observed.Record(message);
                socket.Abort();
            }
        });
    }

    private async Task Echo(WebSocketConnection socket, string path, Offer offer)
    {
        ServerConnection observed = Observe(socket, path, offer);
        await foreach (WebSocketMessage message in socket.ReadAllAsync())
        {
            observed.Record(message);
            await socket.SendAsync(message.Data, message.Type);
        }
    }

    private ServerConnection Observe(WebSocketConnection socket, string path, Offer offer)
    {
        var observed = new ServerConnection(
            path,
            socket.Protocol,
            socket.Extensions,
            offer.Protocols ?? string.Empty,
            offer.Extensions ?? string.Empty,
            socket.Closed);
        _connections.Writer.TryWrite(observed);
        return observed;
    }
}

/// <summary>What the server saw of one connection: its handshake, the messages it received, and how it closed.</summary>
/// <param name="Path">The request path.</param>
/// <param name="Protocol">The negotiated subprotocol (<see cref="WebSocketConnection.Protocol"/>).</param>
/// <param name="Extensions">The negotiated extensions (<see cref="WebSocketConnection.Extensions"/>).</param>
/// <param name="OfferedProtocols">The client's <c>Sec-WebSocket-Protocol</c> request header.</param>
/// <param name="OfferedExtensions">The client's <c>Sec-WebSocket-Extensions</c> request header.</param>
/// <param name="Closed">The server's <see cref="WebSocketConnection.Closed"/>.</param>
public sealed record ServerConnection(
    string Path,
    string Protocol,
    string Extensions,
    string OfferedProtocols,
    string OfferedExtensions,
    Task<WebSocketCloseInfo> Closed)
{
    private readonly ConcurrentQueue<ServerMessage> _messages = new();

    /// <summary>Every message the handler received, in order.</summary>
    public IReadOnlyList<ServerMessage> Messages => _messages.ToArray();

    /// <summary>The server's close info, or a timeout if the connection is still open after <paramref name="seconds"/>.</summary>
    public Task<WebSocketCloseInfo> ClosedWithin(double seconds = 15) => Closed.WaitAsync(TimeSpan.FromSeconds(seconds), TestContext.Current.CancellationToken);

    internal void Record(WebSocketMessage message) =>
        _messages.Enqueue(new ServerMessage(
            message.Type,
            message.Length,
            Convert.ToHexStringLower(SHA256.HashData(message.Data.Span)),
            message.IsText && message.Length <= 256 ? message.GetText() : null));
}

/// <summary>One message as the server received it.</summary>
/// <param name="Type">Text or binary.</param>
/// <param name="Length">Payload length in bytes.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the payload.</param>
/// <param name="Text">The text, for short text messages; otherwise null.</param>
public readonly record struct ServerMessage(WebSocketMessageType Type, int Length, string Sha256, string? Text);

/// <summary>Server logs (warnings, and the library's own debug log) into the current test's output.</summary>
internal sealed class TestOutputLoggerProvider : ILoggerProvider
{
    private readonly ITestOutputHelper? _output = TestContext.Current.TestOutputHelper;

    public ILogger CreateLogger(string categoryName) => new OutputLogger(_output, categoryName);

    public void Dispose()
    {
    }

    private sealed class OutputLogger(ITestOutputHelper? output, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => output is not null;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            try
            {
                output?.WriteLine($"[server {logLevel} {category}] {formatter(state, exception)}{(exception is null ? string.Empty : " " + exception.GetType().Name + ": " + exception.Message)}");
            }
            catch (InvalidOperationException)
            {
                // The test has already finished; its output is closed.
            }
        }
    }
}

/// <summary>What the client offered in its handshake, bound when a handler starts.</summary>
internal sealed record Offer(
    [property: FromHeader(Name = "Sec-WebSocket-Protocol")] string? Protocols,
    [property: FromHeader(Name = "Sec-WebSocket-Extensions")] string? Extensions);
