using System.Net;
using System.Net.Http.Headers;
using AspNetWebSockets.Testing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.TestHost;

namespace AspNetWebSockets.IntegrationTests.Hosting;

/// <summary>
/// RFC 6455 §4.2 opening handshake as seen on the wire: hand-written requests against Kestrel (and the in-memory
/// client against TestServer) get the documented status codes, and nothing reaches the handler before a valid upgrade.
/// </summary>
public sealed class HandshakeHttpTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A bad request, the status it must get, and optionally a header token the refusal must carry.</summary>
    private sealed record BadRequest(Func<Uri, RawRequest> Build, int Status, string? Header = null, string? Token = null);

    private static readonly Dictionary<string, BadRequest> BadRequests = new()
    {
        ["plain GET"] = new(s => new RawRequest().Add("Host", s.Authority), 426, "Upgrade", "websocket"),
        ["plain GET with Connection: Upgrade but no Upgrade header"] = new(s => RawRequest.Upgrade(s).Remove("Upgrade"), 426, "Upgrade", "websocket"),
        ["POST with upgrade headers"] = new(s => WithMethod(RawRequest.Upgrade(s), "POST"), 405, "Allow", "GET"),
        ["PUT with upgrade headers"] = new(s => WithMethod(RawRequest.Upgrade(s), "PUT"), 405, "Allow", "GET"),
        ["HTTP/1.0"] = new(s => WithVersion(RawRequest.Upgrade(s), "HTTP/1.0"), 426),
        ["missing key"] = new(s => RawRequest.Upgrade(s).Remove("Sec-WebSocket-Key"), 400),
        ["empty key"] = new(s => RawRequest.Upgrade(s).Set("Sec-WebSocket-Key", ""), 400),
        ["short key (10 bytes)"] = new(s => RawRequest.Upgrade(s).Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZQ=="), 400),
        ["long key (17 bytes)"] = new(s => RawRequest.Upgrade(s).Set("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAAA="), 400),
        ["long key (32 bytes)"] = new(s => RawRequest.Upgrade(s).Set("Sec-WebSocket-Key", Convert.ToBase64String(new byte[32])), 400),
        ["non-base64 key"] = new(s => RawRequest.Upgrade(s).Set("Sec-WebSocket-Key", "!!!!!!!!!!!!!!!!!!!!!!=="), 400),
        ["unpadded key"] = new(s => RawRequest.Upgrade(s).Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ"), 400),
        ["key with embedded space"] = new(s => RawRequest.Upgrade(s).Set("Sec-WebSocket-Key", "dGhlIHNhbXBs ZSBub25jZQ=="), 400),
        ["two Sec-WebSocket-Key lines"] = new(s => RawRequest.Upgrade(s).Add("Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4PEA=="), 400),
        ["two keys as a comma list"] = new(s => RawRequest.Upgrade(s).Set("Sec-WebSocket-Key", RawRequest.SampleKey + ", AQIDBAUGBwgJCgsMDQ4PEA=="), 400),
        ["version 8"] = new(s => RawRequest.Upgrade(s).Set("Sec-WebSocket-Version", "8"), 426, "Sec-WebSocket-Version", "13"),
        ["missing version"] = new(s => RawRequest.Upgrade(s).Remove("Sec-WebSocket-Version"), 426, "Sec-WebSocket-Version", "13"),
        ["two version lines"] = new(s => RawRequest.Upgrade(s).Add("Sec-WebSocket-Version", "8"), 426, "Sec-WebSocket-Version", "13"),
        ["missing Connection: Upgrade"] = new(s => RawRequest.Upgrade(s).Remove("Connection"), 400),
        ["Connection: keep-alive only"] = new(s => RawRequest.Upgrade(s).Set("Connection", "keep-alive"), 400),
        ["Connection: upgradex (lookalike token)"] = new(s => RawRequest.Upgrade(s).Set("Connection", "upgradex"), 400),
        ["Content-Length: 5 body"] = new(s => WithBody(RawRequest.Upgrade(s).Add("Content-Length", "5"), "hello"), 400),
        ["chunked body"] = new(s => WithBody(RawRequest.Upgrade(s).Add("Transfer-Encoding", "chunked"), "5\r\nhello\r\n0\r\n\r\n"), 400),
        ["subprotocol with a space inside"] = new(s => RawRequest.Upgrade(s).Add("Sec-WebSocket-Protocol", "chat v1"), 400),
        ["subprotocol with a non-token character"] = new(s => RawRequest.Upgrade(s).Add("Sec-WebSocket-Protocol", "chat/1"), 400),
        ["extensions with an unclosed quote"] = new(s => RawRequest.Upgrade(s).Add("Sec-WebSocket-Extensions", "permessage-deflate; x=\"abc"), 400),
    };

    public static TheoryData<string> BadRequestNames => new(BadRequests.Keys);

    private static RawRequest WithMethod(RawRequest request, string method)
    {
        request.Method = method;
        return request;
    }

    private static RawRequest WithVersion(RawRequest request, string version)
    {
        request.Version = version;
        return request;
    }

    private static RawRequest WithBody(RawRequest request, string body)
    {
        request.Body = Encoding.ASCII.GetBytes(body);
        return request;
    }

    private static Task<TestApp> StartCountingAsync(Counter calls, TransportMode mode = TransportMode.KestrelPipes, Action<IServiceCollection>? services = null) =>
        TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", (WebSocketConnection socket) =>
        {
            calls.Increment();
            return Task.CompletedTask;
        }), services: services);

    private static void RaiseKestrelLimits(IServiceCollection services) =>
        services.Configure<KestrelServerOptions>(o =>
        {
            o.Limits.MaxRequestHeaderCount = 4000;
            o.Limits.MaxRequestHeadersTotalSize = 1024 * 1024;
        });

    [Theory]
    [MemberData(nameof(BadRequestNames))]
    public async Task Bad_handshake_gets_its_status_and_never_reaches_the_handler(string name)
    {
        BadRequest bad = BadRequests[name];
        var calls = new Counter();
        await using TestApp app = await StartCountingAsync(calls);

        RawResponse response = await RawHttp.SendAsync(app.HttpAddress, bad.Build(app.HttpAddress));

        Assert.Equal(bad.Status, response.StatusCode);
        Assert.Null(response.Header("Sec-WebSocket-Accept"));
        if (bad.Header is not null)
        {
            Assert.True(response.HasToken(bad.Header, bad.Token!), $"Expected '{bad.Header}: {bad.Token}' in: {string.Join(" | ", response.Headers.Select(h => h.Key + ": " + string.Join(",", h.Value)))}");
        }

        Assert.Equal(0, calls.Value);
    }

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task Valid_handshake_gets_101_with_the_RFC_sample_accept_value_and_runs_the_handler_once(TransportMode mode)
    {
        var calls = new Counter();
        var ran = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/ws", (WebSocketConnection socket) =>
        {
            calls.Increment();
            ran.TrySetResult();
            return Task.CompletedTask;
        }));

        if (mode == TransportMode.InMemory)
        {
            // The in-memory client checks Sec-WebSocket-Accept against its own key and throws on a mismatch.
            await using WebSocketConnection client = await app.ConnectAsync("/ws");
            Assert.Equal(WebSocketReadyState.Open, client.ReadyState);
        }
        else
        {
            RawResponse response = await RawHttp.SendAsync(app.HttpAddress, RawRequest.Upgrade(app.HttpAddress));

            Assert.Equal(101, response.StatusCode);
            Assert.Equal(RawRequest.SampleAccept, response.Header("Sec-WebSocket-Accept"));
            Assert.True(response.HasToken("Upgrade", "websocket"));
            Assert.True(response.HasToken("Connection", "Upgrade"));
            Assert.Null(response.Header("Sec-WebSocket-Protocol"));
            Assert.Null(response.Header("Sec-WebSocket-Extensions"));
        }

        await ran.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal(1, calls.Value);
    }

    [Theory]
    [InlineData("Upgrade", "WebSocket", "Connection", "keep-alive, Upgrade")]
    [InlineData("Upgrade", "websocket", "Connection", "upgrade")]
    [InlineData("Sec-WebSocket-Key", "  " + RawRequest.SampleKey + "  ", "Sec-WebSocket-Version", " 13 ")]
    public async Task Header_spelling_variants_that_RFC_6455_allows_are_accepted(string name1, string value1, string name2, string value2)
    {
        var calls = new Counter();
        await using TestApp app = await StartCountingAsync(calls);

        RawResponse response = await RawHttp.SendAsync(app.HttpAddress, RawRequest.Upgrade(app.HttpAddress).Set(name1, value1).Set(name2, value2));

        Assert.Equal(101, response.StatusCode);
        Assert.Equal(RawRequest.SampleAccept, response.Header("Sec-WebSocket-Accept"));
    }

    [Fact]
    public async Task Plain_GET_through_HttpClient_gets_426_with_Upgrade_websocket_on_Kestrel_and_TestServer()
    {
        var calls = new Counter();
        await using TestApp kestrel = await StartCountingAsync(calls);
        await using TestApp inMemory = await StartCountingAsync(calls, TransportMode.InMemory);
        using var http = new HttpClient { BaseAddress = kestrel.HttpAddress };

        foreach (HttpClient client in new[] { http, inMemory.App.GetTestClient() })
        {
            using HttpResponseMessage response = await client.GetAsync("/ws", Ct);

            Assert.Equal(HttpStatusCode.UpgradeRequired, response.StatusCode);
            Assert.Contains(new ProductHeaderValue("websocket"), response.Headers.Upgrade);
        }

        // A fresh connection: whether a client may reuse one after a 426 carrying Connection: Upgrade is not what this
        // test is about (one CI run under load saw the reused connection closed).
        using var fresh = new HttpClient { BaseAddress = kestrel.HttpAddress };
        using HttpResponseMessage post = await fresh.PostAsync("/ws", new StringContent("x"), Ct);
        Assert.Equal(HttpStatusCode.UpgradeRequired, post.StatusCode); // not an upgrade attempt at all: 426, not 405
        Assert.Equal(0, calls.Value);
    }

    [Fact]
    public async Task Testing_client_reports_refusals_with_status_and_headers()
    {
        var calls = new Counter();
        await using TestApp app = await StartCountingAsync(calls, TransportMode.InMemory);

        WebSocketHandshakeException version = await HostingAssert.RefusedAsync(app, "/ws", 426, o => o.Version = "8");
        Assert.Equal("13", version.Headers["Sec-WebSocket-Version"].ToString());

        await HostingAssert.RefusedAsync(app, "/ws", 400, o => o.Headers["Sec-WebSocket-Key"] = "c2hvcnQ=");
        await HostingAssert.RefusedAsync(app, "/ws", 400, o => o.Headers["Sec-WebSocket-Protocol"] = "a b");
        await HostingAssert.RefusedAsync(app, "/ws", 403, o => o.Origin = "https://evil.com");

        Assert.Equal(0, calls.Value);
    }

    public static TheoryData<int, bool> HostileSubProtocolSizes => new()
    {
        { 4000, false },      // under the library's 4 KiB cap: the tokenizer itself refuses whitespace inside a token
        { 20_000, false },    // over the library's cap, under Kestrel's 32 KiB header limit: the cap refuses it
        { 64 * 1024, false }, // ADVISORIES #1 as published: Kestrel's own limit may answer first (431)
        { 64 * 1024, true },  // the same with Kestrel's limits raised, so the library has to refuse it
    };

    [Theory]
    [MemberData(nameof(HostileSubProtocolSizes))]
    public async Task Subprotocol_header_of_spaces_is_refused_ADVISORIES_1(int spaces, bool raiseKestrelLimits)
    {
        var calls = new Counter();
        await using TestApp app = await StartCountingAsync(calls, services: raiseKestrelLimits ? RaiseKestrelLimits : null);
        RawResponse warmUp = await RawHttp.SendAsync(app.HttpAddress, RawRequest.Upgrade(app.HttpAddress).Set("Sec-WebSocket-Version", "8"));
        Assert.Equal(426, warmUp.StatusCode); // the validation path answers at all before the hostile request

        RawResponse response = await RawHttp.SendAsync(app.HttpAddress, RawRequest.Upgrade(app.HttpAddress).Add("Sec-WebSocket-Protocol", "b" + new string(' ', spaces) + "x"));

        if (spaces < 32 * 1024 || raiseKestrelLimits)
        {
            Assert.Equal(400, response.StatusCode);
        }
        else
        {
            Assert.Contains(response.StatusCode, new[] { 400, 431 });
        }

        Assert.Equal(0, calls.Value);
    }

    [Fact]
    public async Task Subprotocol_header_of_spaces_is_refused_in_memory_where_no_server_limit_applies()
    {
        var calls = new Counter();
        await using TestApp app = await StartCountingAsync(calls, TransportMode.InMemory);
        await (await app.ConnectAsync("/ws")).DisposeAsync(); // warm up

        await HostingAssert.RefusedAsync(app, "/ws", 400, o => o.Headers["Sec-WebSocket-Protocol"] = "b" + new string(' ', 1024 * 1024) + "x");
        Assert.Equal(1, calls.Value); // the warm-up connection only
    }

    public static TheoryData<int, bool> HostileExtensionSizes => new()
    {
        { 1000, false },   // 2 KB: under every cap, the parser must see the quote never closes
        { 30_000, false }, // 60 KB: Kestrel's limit may answer first (431)
        { 30_000, true },  // 60 KB with Kestrel's limits raised: the library refuses it
    };

    [Theory]
    [MemberData(nameof(HostileExtensionSizes))]
    public async Task Extensions_header_with_an_unclosed_quoted_string_of_backslash_pairs_is_refused_ADVISORIES_2(int pairs, bool raiseKestrelLimits)
    {
        var calls = new Counter();
        await using TestApp app = await StartCountingAsync(calls, services: raiseKestrelLimits ? RaiseKestrelLimits : null);
        string header = "a; b=\"" + string.Concat(Enumerable.Repeat("\\c", pairs));

        RawResponse response = await RawHttp.SendAsync(app.HttpAddress, RawRequest.Upgrade(app.HttpAddress).Add("Sec-WebSocket-Extensions", header));

        if (pairs * 2 < 32 * 1024 || raiseKestrelLimits)
        {
            Assert.Equal(400, response.StatusCode);
        }
        else
        {
            Assert.Contains(response.StatusCode, new[] { 400, 431 });
        }

        Assert.Equal(0, calls.Value);
    }

    [Fact]
    public async Task Two_thousand_headers_get_431_or_400_never_500_ADVISORIES_4()
    {
        var calls = new Counter();
        await using TestApp app = await StartCountingAsync(calls);
        RawRequest request = RawRequest.Upgrade(app.HttpAddress);
        for (int i = 0; i < 2000; i++)
        {
            request.Add($"X-Filler-{i}", "v");
        }

        RawResponse response = await RawHttp.SendAsync(app.HttpAddress, request);

        Assert.Contains(response.StatusCode, new[] { 400, 431 });
        Assert.Equal(0, calls.Value);
    }

    [Theory]
    [InlineData(true, 101)]  // every header parsed: the upgrade is valid
    [InlineData(false, 400)] // the key comes after 2000 others and is absent: a 400, never a crash
    public async Task Two_thousand_headers_that_reach_the_library_are_handled_ADVISORIES_4(bool withKey, int status)
    {
        var calls = new Counter();
        await using TestApp app = await StartCountingAsync(calls, services: RaiseKestrelLimits);
        var request = new RawRequest().Add("Host", app.HttpAddress.Authority);
        for (int i = 0; i < 2000; i++)
        {
            request.Add($"X-Filler-{i}", "v");
        }

        request.Add("Upgrade", "websocket").Add("Connection", "Upgrade").Add("Sec-WebSocket-Version", "13");
        if (withKey)
        {
            request.Add("Sec-WebSocket-Key", RawRequest.SampleKey);
        }

        RawResponse response = await RawHttp.SendAsync(app.HttpAddress, request);

        Assert.Equal(status, response.StatusCode);
        if (withKey)
        {
            Assert.Equal(RawRequest.SampleAccept, response.Header("Sec-WebSocket-Accept"));
        }
        else
        {
            Assert.Equal(0, calls.Value);
        }
    }
}
