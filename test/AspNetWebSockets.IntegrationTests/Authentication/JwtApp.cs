using System.Security.Claims;
using AspNetWebSockets.Testing;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AspNetWebSockets.IntegrationTests.Authentication;

/// <summary>
/// An app on Kestrel authenticating with JwtBearer, reading browser tokens through <c>GetWebSocketAccessToken</c>, with
/// every log (hosting's request logs included, at Trace) captured. <c>/ws</c> requires a user, answers its name and
/// closes on expiry; <c>/ws-keep</c> requires a user and does not close on expiry; <c>/api</c> is a plain HTTP endpoint
/// that requires a user.
/// </summary>
internal sealed class JwtApp : IAsyncDisposable
{
    private static readonly SymmetricSecurityKey Key = new(Enumerable.Range(0, 32).Select(i => (byte)(i * 7 + 1)).ToArray());

    private JwtApp(WebApplication app) => App = app;

    public WebApplication App { get; }

    public Uri HttpAddress => new(App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    public Uri WebSocketAddress(string pathAndQuery) => new(new UriBuilder(HttpAddress) { Scheme = "ws" }.Uri, pathAndQuery);

    /// <summary>Every log record's formatted message and structured values, from every category.</summary>
    public IEnumerable<string> LogText => App.Services.GetFakeLogCollector().GetSnapshot()
        .SelectMany(r => new[] { r.Message, r.Exception?.ToString() ?? "" }.Concat(r.StructuredState?.Select(kv => kv.Value ?? "") ?? []));

    public static async Task<JwtApp> StartAsync(bool redact = true)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseLoopbackKestrel();
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Trace).AddFakeLogging();
        builder.Services.AddWebSockets();
        if (redact)
        {
            builder.Services.AddWebSocketAccessTokens();
        }

        builder.Services.AddAuthorization();
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
        {
            o.TokenValidationParameters = new TokenValidationParameters
            {
                ValidateIssuer = false,
                ValidateAudience = false,
                IssuerSigningKey = Key,
                ClockSkew = TimeSpan.Zero,
            };
            o.Events = new JwtBearerEvents
            {
                OnMessageReceived = c =>
                {
                    c.Token ??= c.Request.GetWebSocketAccessToken();
                    return Task.CompletedTask;
                },
            };
        });
        WebApplication app = builder.Build();
        app.MapWebSocket("/ws", async (WebSocketConnection socket, ClaimsPrincipal user) =>
        {
            await socket.SendTextAsync("hello " + user.FindFirst(ClaimTypes.NameIdentifier)?.Value);
            await foreach (WebSocketMessage _ in socket.ReadAllAsync())
            {
            }
        }).WithSubProtocols("chat.v1").RequireAuthorization().CloseOnAuthenticationExpiration();
        app.MapWebSocket("/ws-keep", async (WebSocketConnection socket) =>
        {
            await socket.SendTextAsync("hello");
            await foreach (WebSocketMessage _ in socket.ReadAllAsync())
            {
            }
        }).RequireAuthorization();
        app.MapGet("/api", (ClaimsPrincipal user) => "api " + user.Identity?.Name).RequireAuthorization();
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new JwtApp(app);
    }

    public static string CreateToken(string user, TimeSpan lifetime) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Subject = new ClaimsIdentity([new Claim("sub", user)]),
        NotBefore = DateTime.UtcNow.AddMinutes(-1),
        IssuedAt = DateTime.UtcNow.AddMinutes(-1),
        Expires = DateTime.UtcNow + lifetime,
        SigningCredentials = new SigningCredentials(Key, SecurityAlgorithms.HmacSha256),
    });

    public Task<WebSocketConnection> ConnectAsync(string pathAndQuery, Action<WebSocketClientOptions>? configure = null) =>
        WebSocketTestClient.ConnectAsync(WebSocketAddress(pathAndQuery), configure, TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await App.StopAsync(stop.Token);
        await App.DisposeAsync();
    }
}
