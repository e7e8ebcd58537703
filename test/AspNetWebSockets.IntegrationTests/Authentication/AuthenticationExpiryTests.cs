using System.Security.Claims;
using AspNetWebSockets.Testing;

namespace AspNetWebSockets.IntegrationTests.Authentication;

/// <summary><c>CloseOnAuthenticationExpiration()</c>: 1008 when the identity expires, per endpoint.</summary>
public sealed class AuthenticationExpiryTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_JwtBearer_connection_closes_with_1008_when_its_token_expires_and_not_before()
    {
        await using JwtApp app = await JwtApp.StartAsync();
        string token = JwtApp.CreateToken("erin", TimeSpan.FromSeconds(3)); // exp has 1 s granularity: 2–3 s from now
        DateTime opened = DateTime.UtcNow;
        await using WebSocketConnection socket = await app.ConnectAsync("/ws?access_token=" + token, o => o.SubProtocols.Add("chat.v1"));
        using (WebSocketMessage? hello = await socket.ReceiveAsync(Ct))
        {
            Assert.Equal("hello erin", hello!.GetText());
        }

        Assert.Null(await socket.ReceiveAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(15), Ct)); // ends with the server's close
        WebSocketCloseInfo closed = await socket.Closed;
        Assert.Equal(1008, closed.Code);
        Assert.Equal("authentication expired", closed.Reason);
        Assert.True(DateTime.UtcNow - opened >= TimeSpan.FromSeconds(1.5), "closed before the token expired");
        Assert.Contains(app.LogText, t => t.Contains("authentication expired", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_identity_already_expired_by_its_exp_claim_is_closed_at_once_only_where_the_endpoint_asks(bool closeOnExpiration)
    {
        await using TestApp app = await TestApp.StartAsync(TransportMode.InMemory, a =>
        {
            // A scheme-less stand-in: any authentication that leaves an exp claim and no ticket expiry.
            a.Use((context, next) =>
            {
                long exp = DateTimeOffset.UtcNow.AddSeconds(-5).ToUnixTimeSeconds();
                context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim("exp", exp.ToString(System.Globalization.CultureInfo.InvariantCulture))], "test"));
                return next(context);
            });
            a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
            {
                await socket.SendTextAsync("hello");
                await foreach (WebSocketMessage _ in socket.ReadAllAsync())
                {
                }
            }).CloseOnAuthenticationExpiration(closeOnExpiration);
        });
        await using WebSocketConnection socket = await app.ConnectAsync("/ws");
        if (closeOnExpiration)
        {
            // Closed at once: the 1008 may overtake the handler's "hello" (the close starts as the connection opens), so
            // the hello is allowed but not required before the close.
            for (int i = 0; i < 2; i++)
            {
                using WebSocketMessage? message = await socket.ReceiveAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), Ct);
                if (message is null)
                {
                    break;
                }

                Assert.Equal("hello", message.GetText());
            }

            Assert.Equal(new WebSocketCloseInfo(1008, "authentication expired", WasClean: true), await socket.Closed.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        }
        else
        {
            using (WebSocketMessage? hello = await socket.ReceiveAsync(Ct))
            {
                Assert.Equal("hello", hello?.GetText());
            }

            // Still served: an echo-free round trip through a ping proves the connection is open after the expiry.
            await Task.Delay(300, Ct);
            Assert.Equal(WebSocketReadyState.Open, socket.ReadyState);
            await socket.CloseAsync(1000, "done", Ct);
            Assert.Equal(1000, (await socket.Closed).Code);
        }
    }
}
