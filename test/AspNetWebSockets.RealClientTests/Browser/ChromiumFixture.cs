using System.Text.Json;
using Microsoft.Playwright;

namespace AspNetWebSockets.RealClientTests;

/// <summary>
/// One headless Debian Chromium per test class, launched through Playwright (whose driver ships in its NuGet package;
/// its own browser download does not work here, so it runs /usr/bin/chromium). Each test gets a new page.
/// </summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    private static readonly string[] ChromiumArgs =
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
    ];

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(Prerequisites.ChromiumPath))
        {
            return; // each test then skips, or fails in CI, with the reason (Prerequisites.RequireChromium)
        }

        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Prerequisites.ChromiumPath,
            Headless = true,
            Args = ChromiumArgs,
            Timeout = 60_000,
        });
    }

    /// <summary>Opens a new page on the app's test page (served by the app itself, so its WebSockets are same-origin loopback).</summary>
    public Task<BrowserPage> OpenAsync(RealClientApp app) => OpenAsync(app.HttpAddress);

    /// <summary>Opens a new page on <paramref name="address"/>, which must serve the test page.</summary>
    public async Task<BrowserPage> OpenAsync(Uri address)
    {
        Prerequisites.RequireChromium();
        IBrowser browser = _browser ?? throw new InvalidOperationException("Chromium was not launched.");
        IPage page = await browser.NewPageAsync();
        page.SetDefaultTimeout(15_000);
        ITestOutputHelper? output = TestContext.Current.TestOutputHelper;
        page.Console += (_, message) => Write(output, $"[page console.{message.Type}] {message.Text}");
        page.PageError += (_, error) => Write(output, $"[page error] {error}");
        IResponse? response = await page.GotoAsync(address.ToString());
        Assert.True(response is { Ok: true }, $"The test page at {address} did not load (status {response?.Status}).");
        await page.WaitForFunctionAsync("() => window.rc !== undefined");
        return new BrowserPage(page);
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }

        _playwright?.Dispose();
    }

    private static void Write(ITestOutputHelper? output, string line)
    {
        try
        {
            output?.WriteLine(line);
        }
        catch (InvalidOperationException)
        {
            // The test has already finished.
        }
    }
}

/// <summary>A page with the test helpers loaded; closed when disposed.</summary>
public sealed class BrowserPage(IPage page) : IAsyncDisposable
{
    /// <summary>Bounds every evaluation on the .NET side too (the snippets bound their own waits in the page).</summary>
    private static readonly TimeSpan EvaluationLimit = TimeSpan.FromSeconds(60);

    public IPage Page { get; } = page;

    /// <summary>Runs an async JS snippet in the page and returns its result as JSON.</summary>
    public Task<JsonElement> EvaluateAsync(string script, object? arg = null) => EvaluateAsync<JsonElement>(script, arg);

    /// <summary>Runs an async JS snippet in the page and returns its result.</summary>
    public async Task<T> EvaluateAsync<T>(string script, object? arg = null) =>
        await Page.EvaluateAsync<T>(script, arg).WaitAsync(EvaluationLimit, TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync() => await Page.CloseAsync();
}
