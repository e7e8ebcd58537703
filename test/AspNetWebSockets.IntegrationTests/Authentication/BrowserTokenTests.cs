using System.Net;
using AspNetWebSockets.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;

namespace AspNetWebSockets.IntegrationTests.Authentication;

/// <summary>Bearer tokens from the query string or a subprotocol entry, for WebSocket endpoints only, never logged.</summary>
public sealed class BrowserTokenTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_query_string_token_authenticates_a_WebSocket_handshake_but_not_a_plain_HTTP_request()
    {
        await using JwtApp app = await JwtApp.StartAsync();
        string token = JwtApp.CreateToken("alice", TimeSpan.FromMinutes(5));

        await using (WebSocketConnection socket = await app.ConnectAsync("/ws?access_token=" + token, o => o.SubProtocols.Add("chat.v1")))
        {
            using WebSocketMessage? hello = await socket.ReceiveAsync(Ct);
            Assert.Equal("hello alice", hello!.GetText());
        }

        var missing = await Assert.ThrowsAsync<WebSocketHandshakeException>(() => app.ConnectAsync("/ws", o => o.SubProtocols.Add("chat.v1")));
        Assert.Equal(401, missing.StatusCode);
        var forged = await Assert.ThrowsAsync<WebSocketHandshakeException>(() => app.ConnectAsync("/ws?access_token=" + token[..^4] + "AAAA"));
        Assert.Equal(401, forged.StatusCode);

        // The same token in a URL does not authenticate anything that is not a WebSocket endpoint.
        using var http = new HttpClient { BaseAddress = app.HttpAddress };
        using HttpResponseMessage api = await http.GetAsync("/api?access_token=" + token, Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
    }

    [Fact]
    public async Task A_subprotocol_entry_token_authenticates_and_the_real_subprotocol_is_selected()
    {
        await using JwtApp app = await JwtApp.StartAsync();
        string token = JwtApp.CreateToken("bob", TimeSpan.FromMinutes(5));

        await using WebSocketConnection socket = await app.ConnectAsync("/ws", o =>
        {
            o.SubProtocols.Add("chat.v1");
            o.SubProtocols.Add("access_token." + token);
        });
        Assert.Equal("chat.v1", socket.Protocol);
        using WebSocketMessage? hello = await socket.ReceiveAsync(Ct);
        Assert.Equal("hello bob", hello!.GetText());
    }

    [Fact]
    public async Task A_query_string_token_never_appears_in_any_captured_log_including_hostings_request_logs()
    {
        await using JwtApp app = await JwtApp.StartAsync();
        string token = JwtApp.CreateToken("carol", TimeSpan.FromMinutes(5));
        await using (WebSocketConnection socket = await app.ConnectAsync("/ws?room=1&access_token=" + token, o => o.SubProtocols.Add("chat.v1")))
        {
            using WebSocketMessage? hello = await socket.ReceiveAsync(Ct);
            Assert.Equal("hello carol", hello!.GetText());
            await socket.CloseAsync(1000, "bye", Ct);
        }

        await WaitForAsync(() => app.LogText.Any(t => t.Contains("Request finished", StringComparison.Ordinal)));
        string[] logs = app.LogText.ToArray();
        Assert.DoesNotContain(logs, t => t.Contains(token, StringComparison.Ordinal));
        Assert.DoesNotContain(logs, t => t.Contains(token[^20..], StringComparison.Ordinal));

        // Hosting did log the request line, with the parameter redacted and the rest of the query intact.
        Assert.Contains(logs, t => t.Contains("Request starting", StringComparison.Ordinal) && t.Contains("/ws?room=1&access_token=[redacted]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_AddWebSocketAccessTokens_hosting_logs_the_token_which_is_why_the_redaction_exists()
    {
        await using JwtApp app = await JwtApp.StartAsync(redact: false);
        string token = JwtApp.CreateToken("dave", TimeSpan.FromMinutes(5));
        await using (WebSocketConnection socket = await app.ConnectAsync("/ws?access_token=" + token, o => o.SubProtocols.Add("chat.v1")))
        {
            using WebSocketMessage? hello = await socket.ReceiveAsync(Ct);
            Assert.Equal("hello dave", hello!.GetText()); // the token still works: only the redaction is missing
        }

        Assert.Contains(app.LogText, t => t.Contains("Request starting", StringComparison.Ordinal) && t.Contains(token, StringComparison.Ordinal));
    }

    [Fact]
    public void Redaction_replaces_every_value_of_the_parameter_and_accepts_only_a_single_one()
    {
        Assert.Equal("t1", AspNetWebSockets.Authentication.WebSocketAccessTokenRedactingServer.Redact("?a=1&access_token=t1&b=2", "access_token", out string one));
        Assert.Equal("?a=1&access_token=[redacted]&b=2", one);
        Assert.Null(AspNetWebSockets.Authentication.WebSocketAccessTokenRedactingServer.Redact("?access_token=x&access_token=y", "access_token", out string two));
        Assert.Equal("?access_token=[redacted]&access_token=[redacted]", two);
        Assert.Null(AspNetWebSockets.Authentication.WebSocketAccessTokenRedactingServer.Redact("?access_token=", "access_token", out _));
        Assert.Null(AspNetWebSockets.Authentication.WebSocketAccessTokenRedactingServer.Redact("?other=1", "access_token", out string none));
        Assert.Equal("?other=1", none);
        Assert.Equal("a b/c", AspNetWebSockets.Authentication.WebSocketAccessTokenRedactingServer.Redact("?access%5Ftoken=a+b%2Fc", "access_token", out _));
    }

    [Fact]
    public async Task On_TestServer_the_server_is_not_wrapped_and_the_token_is_read_from_the_query_and_only_on_WebSocket_endpoints()
    {
        await using TestApp app = await TestApp.StartAsync(
            TransportMode.InMemory,
            a =>
            {
                a.MapWebSocket("/ws", (WebSocketConnection socket, HttpContext context) =>
                    socket.SendTextAsync("token " + (context.Request.GetWebSocketAccessToken() ?? "none")).AsTask());
                a.MapGet("/api", (HttpContext context) => "token " + (context.Request.GetWebSocketAccessToken() ?? "none"));
            },
            services: s => s.AddWebSocketAccessTokens());
        Assert.NotNull(app.App.GetTestServer()); // IServer is still the TestServer

        await using WebSocketConnection socket = await app.ConnectAsync("/ws?access_token=abc");
        using (WebSocketMessage? reply = await socket.ReceiveAsync(Ct))
        {
            Assert.Equal("token abc", reply!.GetText());
        }

        using HttpClient http = app.App.GetTestClient();
        Assert.Equal("token none", await http.GetStringAsync("/api?access_token=abc", Ct));
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (int i = 0; i < 100 && !condition(); i++)
        {
            await Task.Delay(50, Ct);
        }

        Assert.True(condition(), "timed out waiting for the condition");
    }
}
