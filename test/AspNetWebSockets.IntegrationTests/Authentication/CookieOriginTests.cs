using System.Security.Claims;
using AspNetWebSockets.Testing;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;

namespace AspNetWebSockets.IntegrationTests.Authentication;

/// <summary>Cookie authentication keeps working beside browser tokens, and the origin check still guards it.</summary>
public sealed class CookieOriginTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_cookie_authenticates_a_same_origin_handshake_and_a_cross_site_one_gets_403()
    {
        await using TestApp app = await TestApp.StartAsync(
            TransportMode.KestrelPipes,
            a =>
            {
                a.MapGet("/login", async (HttpContext context) =>
                {
                    await context.SignInAsync(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, "frank")], CookieAuthenticationDefaults.AuthenticationScheme)));
                    return "ok";
                });
                a.MapWebSocket("/ws", async (WebSocketConnection socket, IWebSocketSender sender) =>
                    await socket.SendTextAsync("hello " + sender.GetUserId(socket))).RequireAuthorization();
            },
            services: s =>
            {
                s.AddWebSocketGroups();
                s.AddWebSocketAccessTokens();
                s.AddAuthorization();
                s.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie(o => o.Events.OnRedirectToLogin = c =>
                {
                    c.Response.StatusCode = 401; // an API, not a page: no redirect to a login form
                    return Task.CompletedTask;
                });
            });

        using var http = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = app.HttpAddress };
        using HttpResponseMessage login = await http.GetAsync("/login", Ct);
        string cookie = login.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
        string sameOrigin = app.HttpAddress.GetLeftPart(UriPartial.Authority);

        await using (WebSocketConnection socket = await app.ConnectAsync("/ws", o =>
        {
            o.Headers["Cookie"] = cookie;
            o.Origin = sameOrigin;
        }))
        {
            using WebSocketMessage? hello = await socket.ReceiveAsync(Ct);
            Assert.Equal("hello frank", hello!.GetText());
        }

        var crossSite = await Assert.ThrowsAsync<WebSocketHandshakeException>(() => app.ConnectAsync("/ws", o =>
        {
            o.Headers["Cookie"] = cookie;
            o.Origin = "https://evil.example";
        }));
        Assert.Equal(403, crossSite.StatusCode);

        var noCookie = await Assert.ThrowsAsync<WebSocketHandshakeException>(() => app.ConnectAsync("/ws", o => o.Origin = sameOrigin));
        Assert.Equal(401, noCookie.StatusCode);
    }
}
