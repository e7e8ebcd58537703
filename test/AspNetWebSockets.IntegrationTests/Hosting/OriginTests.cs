using AspNetWebSockets.Testing;

namespace AspNetWebSockets.IntegrationTests.Hosting;

/// <summary>
/// Cross-site WebSocket hijacking guard (ADVISORIES #14): browsers attach cookies to the upgrade and apply no CORS, so
/// a foreign Origin gets 403 before the upgrade unless allowed; clients that send no Origin pass.
/// </summary>
public sealed class OriginTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<TestApp> StartAsync(Counter calls, TransportMode mode = TransportMode.InMemory, Action<WebSocketServerOptions>? configure = null) =>
        TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
        {
            calls.Increment();
            await socket.SendTextAsync("welcome");
        }), configure);

    /// <summary>The origin a page served by the app under test would send: TestServer answers as http://localhost.</summary>
    private static string OwnOrigin(TestApp app) => app.Mode == TransportMode.InMemory ? "http://localhost" : $"http://{app.HttpAddress.Authority}";

    private static async Task AssertAcceptedAsync(TestApp app, string? origin)
    {
        await using WebSocketConnection client = await app.ConnectAsync("/ws", o => o.Origin = origin);
        using WebSocketMessage? welcome = await client.ReceiveAsync(Ct);
        Assert.Equal("welcome", welcome?.GetText());
    }

    private static Task AssertForbiddenAsync(TestApp app, string origin) => HostingAssert.RefusedAsync(app, "/ws", 403, o => o.Origin = origin);

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task Same_origin_passes_by_default(TransportMode mode)
    {
        var calls = new Counter();
        await using TestApp app = await StartAsync(calls, mode);

        await AssertAcceptedAsync(app, OwnOrigin(app));
        await AssertAcceptedAsync(app, OwnOrigin(app).ToUpperInvariant()); // scheme and host compare case-insensitively

        Assert.Equal(2, calls.Value);
    }

    [Theory]
    [InlineData("https://localhost")]
    [InlineData("http://localhost:80")]
    public async Task Same_host_and_port_passes_whatever_the_scheme_as_documented_for_TLS_terminating_proxies(string origin)
    {
        // OriginPolicy compares the authority only: behind a TLS-terminating proxy the page is https while the request
        // arrives as http, so comparing schemes would refuse every legitimate browser.
        var calls = new Counter();
        await using TestApp app = await StartAsync(calls);

        await AssertAcceptedAsync(app, origin);

        Assert.Equal(1, calls.Value);
    }

    [Fact]
    public async Task Request_without_Origin_passes_by_default()
    {
        var calls = new Counter();
        await using TestApp app = await StartAsync(calls);

        await AssertAcceptedAsync(app, origin: null);

        Assert.Equal(1, calls.Value);
    }

    [Theory]
    [InlineData("https://evil.com")]
    [InlineData("null")]
    [InlineData("http://evil-localhost")]      // lookalike prefix
    [InlineData("http://localhost.evil.com")]  // lookalike suffix
    [InlineData("http://localhost:8080")]      // port differs
    [InlineData("http://localhost:443")]       // port differs (443 is not http's default)
    [InlineData("http://user@localhost")]      // not a serialized origin
    [InlineData("http://localhost/path")]      // not a serialized origin
    [InlineData("localhost")]                  // no scheme
    [InlineData("garbage")]
    public async Task Foreign_or_malformed_origin_gets_403_before_the_upgrade_by_default(string origin)
    {
        var calls = new Counter();
        await using TestApp app = await StartAsync(calls);

        await AssertForbiddenAsync(app, origin);

        Assert.Equal(0, calls.Value);
    }

    [Fact]
    public async Task Foreign_origins_on_Kestrel_get_403_including_another_port_of_the_same_host()
    {
        var calls = new Counter();
        await using TestApp app = await StartAsync(calls, TransportMode.KestrelPipes);
        int otherPort = app.HttpAddress.Port == 65535 ? 65534 : app.HttpAddress.Port + 1;

        await AssertForbiddenAsync(app, $"http://{app.HttpAddress.Host}:{otherPort}");
        await AssertForbiddenAsync(app, "null");

        RawResponse raw = await RawHttp.SendAsync(app.HttpAddress, RawRequest.Upgrade(app.HttpAddress).Add("Origin", "https://evil.com"));
        Assert.Equal(403, raw.StatusCode);
        Assert.Null(raw.Header("Sec-WebSocket-Accept"));
        Assert.Equal(0, calls.Value);
    }

    [Theory]
    [InlineData("https://example.com", true)]
    [InlineData("https://EXAMPLE.com", true)]
    [InlineData("https://example.com:443", true)]  // the default port is the same origin
    [InlineData("http://localhost", true)]         // same-origin still passes beside the list
    [InlineData("https://evil-example.com", false)]
    [InlineData("https://example.com.evil.net", false)]
    [InlineData("https://sub.example.com", false)]
    [InlineData("http://example.com", false)]
    [InlineData("https://example.com:8443", false)]
    [InlineData("null", false)]
    public async Task AllowedOrigins_entry_allows_exactly_that_origin(string origin, bool allowed)
    {
        foreach (string entry in new[] { "https://example.com", "https://example.com/" })
        {
            await AssertEntryAllowsExactlyAsync(entry, origin, allowed);
        }
    }

    /// <summary>An entry written with the trailing slash people often add means the same origin (it once matched nothing).</summary>
    private static async Task AssertEntryAllowsExactlyAsync(string entry, string origin, bool allowed)
    {
        var calls = new Counter();
        await using TestApp app = await StartAsync(calls, configure: o => o.AllowedOrigins.Add(entry));

        if (allowed)
        {
            await AssertAcceptedAsync(app, origin);
            Assert.Equal(1, calls.Value);
        }
        else
        {
            await AssertForbiddenAsync(app, origin);
            Assert.Equal(0, calls.Value);
        }
    }

    [Fact]
    public async Task AllowedOrigins_null_entry_allows_opaque_origins()
    {
        var calls = new Counter();
        await using TestApp app = await StartAsync(calls, configure: o => o.AllowedOrigins.Add("null"));

        await AssertAcceptedAsync(app, "null");
        await AssertForbiddenAsync(app, "https://evil.com");

        Assert.Equal(1, calls.Value);
    }

    [Theory]
    [InlineData("https://evil.com")]
    [InlineData("null")]
    [InlineData("https://evil-example.com")]
    [InlineData("garbage")]
    public async Task AllowAnyOrigin_allows_anything(string origin)
    {
        var calls = new Counter();
        await using TestApp app = await StartAsync(calls, configure: o => o.AllowAnyOrigin = true);

        await AssertAcceptedAsync(app, origin);

        Assert.Equal(1, calls.Value);
    }
}
