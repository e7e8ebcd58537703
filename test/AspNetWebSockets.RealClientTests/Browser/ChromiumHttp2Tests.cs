using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Playwright;

using AspNetWebSockets.TestShared;

namespace AspNetWebSockets.RealClientTests.Browser;

/// <summary>
/// RFC 8441 with a real browser: Chromium, having loaded the page over HTTP/2 (TLS, a certificate made in the test),
/// opens its WebSocket as an extended CONNECT on that HTTP/2 connection, and the same MapWebSocket endpoint serves it.
/// </summary>
public sealed class ChromiumHttp2Tests
{
    [Fact]
    public async Task Chromium_opens_its_WebSocket_over_HTTP2_extended_CONNECT()
    {
        Prerequisites.RequireChromium();
        CancellationToken ct = TestContext.Current.CancellationToken;
        using X509Certificate2 certificate = LocalhostCertificate.Create();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseLoopbackKestrel(listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(certificate);
        });
        builder.Logging.ClearProviders();
        builder.Services.AddWebSockets();
        await using WebApplication app = builder.Build();
        app.MapGet("/", (HttpContext context) => Results.Content($"<!doctype html><title>h2</title><p>{context.Request.Protocol}</p>", "text/html"));
        app.MapWebSocket("/echo", async (WebSocketConnection socket, HttpContext context) =>
        {
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                await socket.SendTextAsync($"{message.GetText()} via {context.Request.Protocol} {context.Request.Method}");
            }
        });
        await app.StartAsync(ct);

        using IPlaywright playwright = await Playwright.CreateAsync();
        await using IBrowser browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Prerequisites.ChromiumPath,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
            Timeout = 60_000,
        });
        await using IBrowserContext context = await browser.NewContextAsync(new BrowserNewContextOptions { IgnoreHTTPSErrors = true });
        IPage page = await context.NewPageAsync();
        page.SetDefaultTimeout(15_000);
        await page.GotoAsync(app.Urls.First() + "/");
        Assert.Equal("HTTP/2", await page.InnerTextAsync("p")); // the page itself came over HTTP/2

        string echo = await page.EvaluateAsync<string>("""
            () => new Promise((resolve, reject) => {
              const socket = new WebSocket("wss://" + location.host + "/echo");
              socket.onopen = () => socket.send("hi");
              socket.onmessage = (e) => { resolve(e.data); socket.close(1000); };
              socket.onclose = (e) => reject("closed " + e.code);
              setTimeout(() => reject("timeout"), 10000);
            })
            """);

        Assert.Equal("hi via HTTP/2 CONNECT", echo);
    }

}
