using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Playwright;

namespace AspNetWebSockets.RealClientTests;

/// <summary>
/// samples/Chat on two nodes sharing the test Redis (REDIS_TEST_ENDPOINT, default 127.0.0.1:6390), driven by Chromium:
/// the page signs in, authenticates its WebSocket with a query-string token, sees the room's members on both nodes, sends
/// a direct message across nodes, and is closed with 1008 when its short-lived token expires (then reconnects).
/// </summary>
/// <remarks>
/// Only the third node issues short-lived tokens: on a slow machine, opening three pages can take longer than a short
/// lifetime, and a page reconnecting in the middle of the member and direct-message checks would make them race.
/// </remarks>
public sealed class ChatSampleAcrossNodesTests
{
    private const int LongTokenLifetimeSeconds = 600;
    private const int ShortTokenLifetimeSeconds = 4;

    [Fact]
    public async Task Members_direct_messages_and_token_expiry_across_two_nodes_in_Chromium()
    {
        Prerequisites.RequireChromium();
        string redis = await RequireRedisAsync();
        string prefix = "chat-test-" + Guid.NewGuid().ToString("N")[..8];
        await using WebApplicationFactory<Program> node1 = await StartNodeAsync(redis, prefix, LongTokenLifetimeSeconds);
        await using WebApplicationFactory<Program> node2 = await StartNodeAsync(redis, prefix, LongTokenLifetimeSeconds);
        await using WebApplicationFactory<Program> node3 = await StartNodeAsync(redis, prefix, ShortTokenLifetimeSeconds);
        string address1 = AddressOf(node1), address2 = AddressOf(node2), address3 = AddressOf(node3);

        using IPlaywright playwright = await Playwright.CreateAsync();
        await using IBrowser browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Prerequisites.ChromiumPath,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"],
            Timeout = 60_000,
        });

        IPage alice = await OpenAsync(browser, address1, "alice", "it");
        IPage bob = await OpenAsync(browser, address2, "bob", "it");
        IPage carol = await OpenAsync(browser, address2, "carol", "other");

        // Each node's page lists the members on both nodes.
        await Assertions.Expect(alice.Locator("#members")).ToHaveTextAsync("alice, bob");
        await Assertions.Expect(bob.Locator("#members")).ToHaveTextAsync("alice, bob");
        await Assertions.Expect(carol.Locator("#members")).ToHaveTextAsync("carol");

        // A direct message from node 1 reaches bob on node 2 (and alice's own copy), not carol.
        await alice.FillAsync("#text", "/msg bob psst");
        await alice.PressAsync("#text", "Enter");
        await Assertions.Expect(bob.Locator("#log")).ToContainTextAsync("alice \u2192 bob (direct): psst");
        await Assertions.Expect(alice.Locator("#log")).ToContainTextAsync("alice \u2192 bob (direct): psst");
        await carol.FillAsync("#text", "/msg carol marker");
        await carol.PressAsync("#text", "Enter");
        await Assertions.Expect(carol.Locator("#log")).ToContainTextAsync("carol \u2192 carol (direct): marker");
        await Assertions.Expect(carol.Locator("#log")).Not.ToContainTextAsync("psst");

        // bob leaves: alice's list shrinks.
        await bob.CloseAsync();
        await Assertions.Expect(alice.Locator("#members")).ToHaveTextAsync("alice");

        // dave's token (from node 3) expires: the server closes with 1008, the page signs in again and reconnects, and
        // alice on node 1 sees him back in the room.
        IPage dave = await OpenAsync(browser, address3, "dave", "it");
        // (The log line stays; the page clears "#close" as soon as it has reconnected.)
        await Assertions.Expect(dave.Locator("#log")).ToContainTextAsync("connection closed with 1008 authentication expired", new() { Timeout = (ShortTokenLifetimeSeconds + 15) * 1000 });
        await Assertions.Expect(dave.Locator("#state")).ToContainTextAsync("open (chat.v1, room it)", new() { Timeout = 15_000 });
        await Assertions.Expect(alice.Locator("#members")).ToHaveTextAsync("alice, dave");
        await Assertions.Expect(alice.Locator("#log")).Not.ToContainTextAsync("connection closed"); // a long-lived token
    }

    /// <summary>
    /// Starts a node on the thread pool: <c>StartServer()</c> blocks until the host has started (its Redis connections
    /// made), and the caller may be on a socket's I/O thread — with inline socket completions (the event-loop run) an
    /// awaited socket operation resumes there — where blocking would stall every socket of the process, Redis included.
    /// </summary>
    private static Task<WebApplicationFactory<Program>> StartNodeAsync(string redis, string prefix, int tokenLifetimeSeconds) => Task.Run(() =>
    {
        WebApplicationFactory<Program> node = new WebApplicationFactory<Program>().WithWebHostBuilder(b => b
            .UseEventLoopIfRequested()
            .UseSetting("redis", redis)
            .UseSetting("redisPrefix", prefix)
            .UseSetting("tokenLifetimeSeconds", tokenLifetimeSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .UseUrls("http://127.0.0.1:0")); // the derived factory does not carry UseKestrel(0)'s port over
        node.UseKestrel(0);
        node.StartServer();
        return node;
    });

    private static string AddressOf(WebApplicationFactory<Program> node) =>
        node.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .First(a => a.StartsWith("http://127.0.0.1", StringComparison.Ordinal) || a.StartsWith("http://localhost", StringComparison.Ordinal));

    private static async Task<IPage> OpenAsync(IBrowser browser, string address, string name, string room)
    {
        IPage page = await browser.NewPageAsync();
        page.SetDefaultTimeout(15_000);
        Assertions.SetDefaultExpectTimeout(15_000);
        await page.GotoAsync($"{address}/?room={room}&name={name}");
        await page.ClickAsync("#join button");
        await Assertions.Expect(page.Locator("#state")).ToContainTextAsync($"open (chat.v1, room {room})");
        return page;
    }

    /// <summary>The test Redis's endpoint; skips (or, in CI, fails) when nothing listens there.</summary>
    private static async Task<string> RequireRedisAsync()
    {
        string endpoint = Environment.GetEnvironmentVariable("REDIS_TEST_ENDPOINT") is { Length: > 0 } e ? e : "127.0.0.1:6390";
        int colon = endpoint.LastIndexOf(':');
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(endpoint[..colon], int.Parse(endpoint[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture))
                .WaitAsync(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        }
        catch (Exception ex) when (ex is SocketException or TimeoutException)
        {
            string message = $"No Redis at {endpoint} (REDIS_TEST_ENDPOINT); run ./build/start-redis.sh.";
            Assert.SkipWhen(!Prerequisites.IsCI, message);
            Assert.Fail(message);
        }

        return endpoint;
    }
}
