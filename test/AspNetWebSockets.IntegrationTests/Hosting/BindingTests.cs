using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Claims;
using System.Text.Encodings.Web;
using AspNetWebSockets.Testing;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Options;

namespace AspNetWebSockets.IntegrationTests.Hosting;

/// <summary>MapWebSocket binds handler parameters the way minimal APIs do, and every endpoint convention still applies.</summary>
public sealed class BindingTests
{
    private const string TestScheme = "Test";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<T> Within<T>(Task<T> task) => task.WaitAsync(TimeSpan.FromSeconds(10), Ct);

    private static async Task<string> ReceiveTextAsync(WebSocketConnection client)
    {
        using WebSocketMessage? message = await client.ReceiveAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.NotNull(message);
        return message.GetText();
    }

    private static async Task<string> ConnectAndReceiveTextAsync(TestApp app, string path, Action<WebSocketClientOptions>? configure = null)
    {
        await using WebSocketConnection client = await app.ConnectAsync(path, configure);
        return await ReceiveTextAsync(client);
    }

    private static async Task DrainAsync(WebSocketConnection socket)
    {
        await foreach (WebSocketMessage message in socket.ReadAllAsync())
        {
        }
    }

    public sealed record Greeting(string Text);

    /// <summary>A request-scoped service that itself depends on the accepted connection.</summary>
    public sealed class Greeter(WebSocketConnection socket)
    {
        public WebSocketConnection Socket { get; } = socket;

        public ValueTask GreetAsync(string text) => Socket.SendTextAsync("hello " + text);
    }

    public sealed record EndpointTag(string Value);

    [AttributeUsage(AttributeTargets.Method)]
    private sealed class TagAttribute(string value) : Attribute
    {
        public string Value { get; } = value;
    }

    /// <summary>Authenticates from <c>X-Test-User</c>: absent → no result, <c>bad</c> → failure, otherwise that user with role <c>tester</c>.</summary>
    private sealed class TestAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            string? user = Request.Headers["X-Test-User"];
            if (string.IsNullOrEmpty(user))
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            if (user == "bad")
            {
                return Task.FromResult(AuthenticateResult.Fail("bad credentials"));
            }

            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, user), new Claim("role", "tester")], TestScheme);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), TestScheme)));
        }
    }

    private static void AddTestAuthentication(IServiceCollection services)
    {
        services.AddAuthentication(TestScheme).AddScheme<AuthenticationSchemeOptions, TestAuthenticationHandler>(TestScheme, null);
        services.AddAuthorization();
    }

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task Route_value_is_bound(TransportMode mode)
    {
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/rooms/{room}", (WebSocketConnection socket, string room) => socket.SendTextAsync("room=" + room)));

        Assert.Equal("room=lobby", await ConnectAndReceiveTextAsync(app, "/rooms/lobby"));
        Assert.Equal("room=a b", await ConnectAndReceiveTextAsync(app, "/rooms/a%20b"));
    }

    [Fact]
    public async Task Query_value_is_bound_and_never_inferred_from_a_body()
    {
        await using TestApp app = await TestApp.StartAsync(TransportMode.InMemory, a => a.MapWebSocket("/greet", (WebSocketConnection socket, string? name) => socket.SendTextAsync("name=" + (name ?? "(none)"))));

        Assert.Equal("name=bob", await ConnectAndReceiveTextAsync(app, "/greet?name=bob"));
        Assert.Equal("name=(none)", await ConnectAndReceiveTextAsync(app, "/greet"));
    }

    [Theory]
    [InlineData(TransportMode.InMemory)]
    [InlineData(TransportMode.KestrelPipes)]
    public async Task Route_constraint_mismatch_is_a_404_without_upgrade(TransportMode mode)
    {
        var calls = new Counter();
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/items/{id:int}", (WebSocketConnection socket, int id) =>
        {
            calls.Increment();
            return socket.SendTextAsync((id * 2).ToString(CultureInfo.InvariantCulture));
        }));

        await HostingAssert.RefusedAsync(app, "/items/abc", 404);
        await HostingAssert.RefusedAsync(app, "/items/99999999999", 404); // overflows int
        if (mode != TransportMode.InMemory)
        {
            RawResponse raw = await RawHttp.SendAsync(app.HttpAddress, RawRequest.Upgrade(app.HttpAddress, "/items/abc"));
            Assert.Equal(404, raw.StatusCode);
            Assert.Null(raw.Header("Sec-WebSocket-Accept"));
        }

        Assert.Equal(0, calls.Value);
        Assert.Equal("42", await ConnectAndReceiveTextAsync(app, "/items/21"));
        Assert.Equal(1, calls.Value);
    }

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task Parameter_that_fails_to_bind_after_the_upgrade_closes_with_1011_on_every_server(TransportMode mode)
    {
        // Binding happens after the upgrade, so a 400 is impossible; it used to close with 1011 on Kestrel but 1000
        // (as if the handler had succeeded) in memory.
        var calls = new Counter();
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/count", (WebSocketConnection socket, int count) =>
        {
            calls.Increment();
            return socket.SendTextAsync("count=" + count);
        }));

        Assert.Equal("count=3", await ConnectAndReceiveTextAsync(app, "/count?count=3"));
        foreach (string path in new[] { "/count", "/count?count=abc" })
        {
            await using WebSocketConnection client = await app.ConnectAsync(path);
            Assert.Null(await client.ReceiveAsync(Ct));
            Assert.Equal(WebSocketCloseCode.InternalServerError, (await Within(client.Closed)).Code);
        }

        Assert.Equal(1, calls.Value);
    }

    [Fact]
    public async Task DI_singleton_HttpContext_and_anonymous_ClaimsPrincipal_are_bound()
    {
        await using TestApp app = await TestApp.StartAsync(
            TransportMode.InMemory,
            a => a.MapWebSocket("/ctx", (WebSocketConnection socket, Greeting greeting, HttpContext context, ClaimsPrincipal user) =>
                socket.SendTextAsync(string.Join('|',
                    greeting.Text,
                    context.Request.Path + context.Request.QueryString,
                    context.Request.Headers["X-Custom"].ToString(),
                    ReferenceEquals(context.RequestServices.GetRequiredService<WebSocketConnection>(), socket),
                    ReferenceEquals(context.RequestServices.GetRequiredService<Greeting>(), greeting),
                    ReferenceEquals(context.User, user),
                    user.Identity?.IsAuthenticated ?? false))),
            services: s => s.AddSingleton(new Greeting("hi")));

        string report = await ConnectAndReceiveTextAsync(app, "/ctx?x=1", o => o.Headers["X-Custom"] = "custom value");

        Assert.Equal("hi|/ctx?x=1|custom value|True|True|True|False", report);
    }

    [Theory]
    [InlineData(TransportMode.InMemory, false)]
    [InlineData(TransportMode.InMemory, true)]
    [InlineData(TransportMode.KestrelPipes, false)]
    [InlineData(TransportMode.KestrelPipes, true)]
    [InlineData(TransportMode.KestrelStream, false)]
    [InlineData(TransportMode.KestrelStream, true)]
    public async Task CancellationToken_fires_when_the_client_closes_or_drops(TransportMode mode, bool abort)
    {
        var fired = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", async (WebSocketConnection socket, CancellationToken aborted) =>
        {
            await socket.SendTextAsync(aborted.IsCancellationRequested ? "cancelled" : "live");
            Task drain = DrainAsync(socket); // something must read to see the client's close
            try
            {
                await Task.Delay(Timeout.Infinite, aborted);
            }
            catch (OperationCanceledException)
            {
                fired.TrySetResult(aborted.IsCancellationRequested);
            }

            await drain;
        }));
        WebSocketConnection client = await app.ConnectAsync("/ws");
        Assert.Equal("live", await ReceiveTextAsync(client));
        await Task.Delay(50, Ct);
        Assert.False(fired.Task.IsCompleted, "The token fired while the connection was open.");

        if (abort)
        {
            client.Abort();
        }
        else
        {
            await client.CloseAsync(WebSocketCloseCode.NormalClosure, "bye", Ct);
        }

        Assert.True(await Within(fired.Task));
        await client.DisposeAsync();
    }

    [Fact]
    public async Task Scoped_service_that_injects_WebSocketConnection_gets_this_requests_connection()
    {
        var greeters = new ConcurrentBag<Greeter>();
        await using TestApp app = await TestApp.StartAsync(
            TransportMode.InMemory,
            a => a.MapWebSocket("/greet", async (WebSocketConnection socket, Greeter greeter) =>
            {
                greeters.Add(greeter);
                await greeter.GreetAsync(ReferenceEquals(greeter.Socket, socket) ? "same" : "different");
                await DrainAsync(socket);
            }),
            services: s => s.AddScoped<Greeter>());

        await using WebSocketConnection first = await app.ConnectAsync("/greet");
        await using WebSocketConnection second = await app.ConnectAsync("/greet");

        Assert.Equal("hello same", await ReceiveTextAsync(first));
        Assert.Equal("hello same", await ReceiveTextAsync(second));
        Assert.Equal(2, greeters.Count);
        Assert.Equal(2, greeters.Select(g => g.Socket).Distinct().Count());
    }

    [Fact]
    public async Task WebSocketConnection_cannot_be_resolved_outside_a_WebSocket_request()
    {
        await using TestApp app = await TestApp.StartAsync(TransportMode.InMemory, a => a.MapGet("/plain", (HttpContext context) =>
        {
            try
            {
                context.RequestServices.GetRequiredService<WebSocketConnection>();
                return "resolved";
            }
            catch (InvalidOperationException)
            {
                return "refused";
            }
        }));

        using HttpClient http = app.App.GetTestClient();
        Assert.Equal("refused", await http.GetStringAsync("/plain", Ct));
    }

    [Theory]
    [InlineData(TransportMode.InMemory)]
    [InlineData(TransportMode.KestrelPipes)]
    public async Task RequireAuthorization_answers_401_before_the_upgrade_and_binds_the_authenticated_principal(TransportMode mode)
    {
        var calls = new Counter();
        await using TestApp app = await TestApp.StartAsync(
            mode,
            a =>
            {
                a.MapWebSocket("/secure", (WebSocketConnection socket, ClaimsPrincipal user, HttpContext context) =>
                {
                    calls.Increment();
                    return socket.SendTextAsync($"{user.Identity?.Name}|{user.FindFirst("role")?.Value}|{ReferenceEquals(context.User, user)}");
                }).RequireAuthorization();
                a.MapWebSocket("/admin", (WebSocketConnection socket) =>
                {
                    calls.Increment();
                    return socket.SendTextAsync("admin");
                }).RequireAuthorization(policy => policy.RequireClaim("role", "admin"));
            },
            services: AddTestAuthentication);

        await HostingAssert.RefusedAsync(app, "/secure", 401);
        await HostingAssert.RefusedAsync(app, "/secure", 401, o => o.Headers["X-Test-User"] = "bad");
        await HostingAssert.RefusedAsync(app, "/admin", 403, o => o.Headers["X-Test-User"] = "alice");
        if (mode != TransportMode.InMemory)
        {
            RawResponse raw = await RawHttp.SendAsync(app.HttpAddress, RawRequest.Upgrade(app.HttpAddress, "/secure"));
            Assert.Equal(401, raw.StatusCode);
            Assert.Null(raw.Header("Sec-WebSocket-Accept"));
        }

        Assert.Equal(0, calls.Value);

        Assert.Equal("alice|tester|True", await ConnectAndReceiveTextAsync(app, "/secure", o => o.Headers["X-Test-User"] = "alice"));
        Assert.Equal(1, calls.Value);
    }

    [Fact]
    public async Task Authorize_attribute_on_the_handler_becomes_endpoint_metadata()
    {
        await using TestApp app = await TestApp.StartAsync(
            TransportMode.InMemory,
            a => a.MapWebSocket("/attr", [Authorize] (WebSocketConnection socket, ClaimsPrincipal user) => socket.SendTextAsync("user=" + user.Identity?.Name)),
            services: AddTestAuthentication);

        await HostingAssert.RefusedAsync(app, "/attr", 401);
        Assert.Equal("user=bob", await ConnectAndReceiveTextAsync(app, "/attr", o => o.Headers["X-Test-User"] = "bob"));
    }

    [Fact]
    public async Task WithMetadata_and_handler_attributes_show_up_on_the_endpoint()
    {
        await using TestApp app = await TestApp.StartAsync(TransportMode.InMemory, a => a
            .MapWebSocket("/meta", [Tag("from attribute")] (WebSocketConnection socket, HttpContext context) =>
                socket.SendTextAsync(context.GetEndpoint()?.Metadata.GetMetadata<EndpointTag>()?.Value ?? "(missing)"))
            .WithMetadata(new EndpointTag("from WithMetadata")));

        Assert.Equal("from WithMetadata", await ConnectAndReceiveTextAsync(app, "/meta"));

        Endpoint endpoint = Assert.Single(app.App.Services.GetRequiredService<EndpointDataSource>().Endpoints, e => e.DisplayName == "WebSocket /meta");
        Assert.Equal("from WithMetadata", endpoint.Metadata.GetMetadata<EndpointTag>()?.Value);
        Assert.Equal("from attribute", endpoint.Metadata.GetMetadata<TagAttribute>()?.Value);
    }

    [Fact]
    public async Task Void_and_ValueTask_handlers_run_and_the_connection_then_closes_with_1000()
    {
        var calls = new Counter();
        await using TestApp app = await TestApp.StartAsync(TransportMode.InMemory, a =>
        {
            a.MapWebSocket("/void", (WebSocketConnection socket) => calls.Increment());
            a.MapWebSocket("/valuetask", (WebSocketConnection socket) => socket.SendTextAsync("value task"));
        });

        await using (WebSocketConnection client = await app.ConnectAsync("/void"))
        {
            Assert.Null(await client.ReceiveAsync(Ct));
            Assert.Equal(WebSocketCloseCode.NormalClosure, (await Within(client.Closed)).Code);
            Assert.Equal(1, calls.Value);
        }

        await using (WebSocketConnection client = await app.ConnectAsync("/valuetask"))
        {
            Assert.Equal("value task", await ReceiveTextAsync(client));
            Assert.Null(await client.ReceiveAsync(Ct));
            Assert.Equal(WebSocketCloseCode.NormalClosure, (await Within(client.Closed)).Code);
        }
    }

    [Fact]
    public async Task Handler_returning_a_value_is_rejected_by_MapWebSocket()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddWebSockets();
        await using WebApplication app = builder.Build();

        ArgumentException plain = Assert.Throws<ArgumentException>(() => app.MapWebSocket("/string", (WebSocketConnection socket) => "not allowed"));
        Assert.Equal("handler", plain.ParamName);
        Assert.Throws<ArgumentException>(() => app.MapWebSocket("/task-of-string", (WebSocketConnection socket) => Task.FromResult("not allowed")));
        Assert.Throws<ArgumentException>(() => app.MapWebSocket("/result", (WebSocketConnection socket) => Results.Ok()));
        Assert.Empty(app.Services.GetRequiredService<EndpointDataSource>().Endpoints);
    }

    [Fact]
    public async Task MapWebSocket_without_AddWebSockets_throws_InvalidOperationException()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        await using WebApplication app = builder.Build();

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => app.MapWebSocket("/ws", (WebSocketConnection socket) => Task.CompletedTask));
        Assert.Contains("AddWebSockets", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddWebSockets_without_arguments_works()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddWebSockets();
        await using WebApplication app = builder.Build();
        app.MapWebSocket("/echo", async (WebSocketConnection socket) =>
        {
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                await socket.SendAsync(message.Data, message.Type);
            }
        });
        await app.StartAsync(Ct);

        await using (WebSocketConnection client = await app.GetTestServer().ConnectWebSocketAsync("/echo", cancellationToken: Ct))
        {
            await client.SendTextAsync("defaults", Ct);
            Assert.Equal("defaults", await ReceiveTextAsync(client));
        }

        await app.StopAsync(Ct);
    }
}
