using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Playwright;

namespace AspNetWebSockets.RealClientTests;

/// <summary>
/// Two Chromium pages chat through samples/Chat (its own Program, its wwwroot page, in-memory groups) on Kestrel; the
/// page's screenshot is kept as a test artifact under artifacts/screenshots.
/// </summary>
public sealed class ChatSampleTests
{
    [Fact]
    public async Task Two_pages_chat_see_presence_and_a_reconnect_after_the_server_drops_them()
    {
        Prerequisites.RequireChromium();
        await using var sample = new WebApplicationFactory<Program>();
        await using var chat = sample.WithWebHostBuilder(b => b
            .UseEventLoopIfRequested()
            .UseUrls("http://127.0.0.1:0")); // the derived factory does not carry UseKestrel(0)'s port over
        chat.UseKestrel(0);
        chat.StartServer();
        string address = chat.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Single(a => a.StartsWith("http://127.0.0.1", StringComparison.Ordinal) || a.StartsWith("http://localhost", StringComparison.Ordinal) || a.StartsWith("http://[::1]", StringComparison.Ordinal));
        address = address.Replace("[::1]", "localhost", StringComparison.Ordinal);

        using IPlaywright playwright = await Playwright.CreateAsync();
        await using IBrowser browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Prerequisites.ChromiumPath,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"],
            Timeout = 60_000,
        });

        IPage alice = await OpenAsync(browser, address, "alice");
        IPage bob = await OpenAsync(browser, address, "bob");

        // Presence: alice sees bob join.
        await Assertions.Expect(alice.Locator("#log")).ToContainTextAsync("bob joined");

        await alice.FillAsync("#text", "hello from alice");
        await alice.ClickAsync("#sendButton");
        await Assertions.Expect(bob.Locator("#log")).ToContainTextAsync("alice: hello from alice");
        await bob.FillAsync("#text", "hi alice");
        await bob.PressAsync("#text", "Enter");
        await Assertions.Expect(alice.Locator("#log")).ToContainTextAsync("bob: hi alice");
        await Assertions.Expect(alice.Locator("#state")).ToContainTextAsync("open (chat.v1, room it)");

        string screenshots = Path.Combine(FindRepositoryRoot(), "artifacts", "screenshots");
        Directory.CreateDirectory(screenshots);
        string shot = Path.Combine(screenshots, "chat-sample.png");
        await alice.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
        Assert.True(new FileInfo(shot).Length > 1000);
        TestContext.Current.AddAttachment("chat-sample.png", await File.ReadAllBytesAsync(shot, TestContext.Current.CancellationToken), "image/png");

        // bob leaves: alice sees it. Then the server closes alice with 1013: the page shows the code and reason and reconnects.
        await bob.CloseAsync();
        await Assertions.Expect(alice.Locator("#log")).ToContainTextAsync("bob left");
        IWebSocketGroups groups = chat.Services.GetRequiredService<IWebSocketGroups>();
        WebSocketConnection aliceServer = Assert.Single(groups.GetLocalMembers("it"));
        await aliceServer.CloseAsync(WebSocketCloseCode.TryAgainLater, "maintenance", TestContext.Current.CancellationToken);
        // The log line stays; "#close" would race with the reconnect, which clears it.
        await Assertions.Expect(alice.Locator("#log")).ToContainTextAsync("connection closed with 1013 maintenance");
        await Assertions.Expect(alice.Locator("#state")).ToContainTextAsync("open (chat.v1, room it)", new() { Timeout = 15_000 });
        // The page opens on the 101, which leaves before the server's handler has joined the room: wait for the join.
        await RoomHoldsOnlyAsync(groups, "it", c => !ReferenceEquals(c, aliceServer));
    }

    private static async Task RoomHoldsOnlyAsync(IWebSocketGroups groups, string room, Func<WebSocketConnection, bool> isExpected)
    {
        for (int attempt = 0; attempt < 150; attempt++)
        {
            if (groups.GetLocalMembers(room) is [var only] && isExpected(only))
            {
                return;
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        Assert.Fail($"room {room} did not settle on one new member within 15 s; it holds {groups.GetLocalMembers(room).Count}");
    }

    private static async Task<IPage> OpenAsync(IBrowser browser, string address, string name)
    {
        IPage page = await browser.NewPageAsync();
        page.SetDefaultTimeout(15_000);
        Assertions.SetDefaultExpectTimeout(15_000);
        await page.GotoAsync($"{address}/?room=it&name={name}");
        await page.ClickAsync("#join button");
        await Assertions.Expect(page.Locator("#state")).ToContainTextAsync("open (chat.v1, room it)");
        return page;
    }

    private static string FindRepositoryRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "global.json")))
            {
                return d.FullName;
            }
        }

        return AppContext.BaseDirectory;
    }
}
