namespace AspNetWebSockets.IntegrationTests.Hosting;

/// <summary>RFC 6455 §4.2.2 subprotocol selection: server preference, no header when nothing matches, 400 when required.</summary>
public sealed class SubProtocolTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The handler tells the client which subprotocol the server side sees.</summary>
    private static async Task ReportProtocol(WebSocketConnection socket) => await socket.SendTextAsync("protocol=" + socket.Protocol);

    private static async Task<string> ConnectAndReadServerProtocolAsync(TestApp app, string path, string expected, params string[] offers)
    {
        await using WebSocketConnection client = await app.ConnectAsync(path, o =>
        {
            foreach (string offer in offers)
            {
                o.SubProtocols.Add(offer);
            }
        });
        Assert.Equal(expected, client.Protocol);
        using WebSocketMessage? report = await client.ReceiveAsync(Ct);
        Assert.NotNull(report);
        return report.GetText();
    }

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task Server_preference_wins_and_both_ends_see_the_selected_protocol(TransportMode mode)
    {
        await using TestApp app = await TestApp.StartAsync(mode, a => a.MapWebSocket("/chat", ReportProtocol).WithSubProtocols("chat.v2", "chat.v1"));

        Assert.Equal("protocol=chat.v2", await ConnectAndReadServerProtocolAsync(app, "/chat", "chat.v2", "chat.v1", "chat.v2"));
        Assert.Equal("protocol=chat.v1", await ConnectAndReadServerProtocolAsync(app, "/chat", "chat.v1", "chat.v1"));
    }

    [Theory]
    [InlineData("chat.v3")]
    [InlineData("CHAT.V2")] // subprotocol names are case-sensitive
    [InlineData("chat.v3", "chat")]
    [InlineData]
    public async Task No_match_completes_without_a_subprotocol(params string[] offers)
    {
        await using TestApp app = await TestApp.StartAsync(TransportMode.InMemory, a => a.MapWebSocket("/chat", ReportProtocol).WithSubProtocols("chat.v2", "chat.v1"));

        Assert.Equal("protocol=", await ConnectAndReadServerProtocolAsync(app, "/chat", string.Empty, offers));
    }

    [Fact]
    public async Task On_the_wire_the_101_carries_exactly_the_selected_protocol_or_no_header_at_all()
    {
        await using TestApp app = await TestApp.StartAsync(TransportMode.KestrelPipes, a => a.MapWebSocket("/chat", ReportProtocol).WithSubProtocols("chat.v2", "chat.v1"));

        RawResponse matched = await RawHttp.SendAsync(app.HttpAddress, RawRequest.Upgrade(app.HttpAddress, "/chat").Add("Sec-WebSocket-Protocol", "chat.v1, chat.v2"));
        Assert.Equal(101, matched.StatusCode);
        Assert.Equal(["chat.v2"], matched.Values("Sec-WebSocket-Protocol"));

        RawResponse twoLines = await RawHttp.SendAsync(app.HttpAddress, RawRequest.Upgrade(app.HttpAddress, "/chat").Add("Sec-WebSocket-Protocol", "x").Add("Sec-WebSocket-Protocol", "chat.v1"));
        Assert.Equal(101, twoLines.StatusCode);
        Assert.Equal(["chat.v1"], twoLines.Values("Sec-WebSocket-Protocol"));

        RawResponse unmatched = await RawHttp.SendAsync(app.HttpAddress, RawRequest.Upgrade(app.HttpAddress, "/chat").Add("Sec-WebSocket-Protocol", "chat.v3"));
        Assert.Equal(101, unmatched.StatusCode);
        Assert.Null(unmatched.Header("Sec-WebSocket-Protocol"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task RequireSubProtocol_refuses_a_handshake_without_a_match_with_400(bool requireFirst)
    {
        var calls = new Counter();
        await using TestApp app = await TestApp.StartAsync(TransportMode.InMemory, a =>
        {
            WebSocketEndpointConventionBuilder endpoint = a.MapWebSocket("/chat", async (WebSocketConnection socket) =>
            {
                calls.Increment();
                await ReportProtocol(socket);
            });
            _ = requireFirst
                ? endpoint.RequireSubProtocol().WithSubProtocols("chat.v2", "chat.v1")
                : endpoint.WithSubProtocols("chat.v2", "chat.v1").RequireSubProtocol();
        });

        await HostingAssert.RefusedAsync(app, "/chat", 400, o => o.SubProtocols.Add("chat.v3"));
        await HostingAssert.RefusedAsync(app, "/chat", 400);
        Assert.Equal(0, calls.Value);

        Assert.Equal("protocol=chat.v1", await ConnectAndReadServerProtocolAsync(app, "/chat", "chat.v1", "chat.v3", "chat.v1"));
        Assert.Equal(1, calls.Value);
    }

    [Fact]
    public async Task Options_level_subprotocols_apply_to_endpoints_without_their_own_and_an_endpoint_list_replaces_them()
    {
        await using TestApp app = await TestApp.StartAsync(
            TransportMode.InMemory,
            a =>
            {
                a.MapWebSocket("/inherits", ReportProtocol);
                a.MapWebSocket("/own", ReportProtocol).WithSubProtocols("ep.x");
            },
            o =>
            {
                o.SubProtocols.Add("opt.a");
                o.SubProtocols.Add("opt.b");
            });

        Assert.Equal("protocol=opt.a", await ConnectAndReadServerProtocolAsync(app, "/inherits", "opt.a", "opt.b", "opt.a"));
        Assert.Equal("protocol=opt.b", await ConnectAndReadServerProtocolAsync(app, "/inherits", "opt.b", "ep.x", "opt.b"));
        Assert.Equal("protocol=", await ConnectAndReadServerProtocolAsync(app, "/own", string.Empty, "opt.a"));
        Assert.Equal("protocol=ep.x", await ConnectAndReadServerProtocolAsync(app, "/own", "ep.x", "opt.a", "ep.x"));
    }

    [Fact]
    public async Task Options_level_RequireSubProtocol_refuses_unmatched_handshakes_on_every_endpoint()
    {
        await using TestApp app = await TestApp.StartAsync(
            TransportMode.InMemory,
            a =>
            {
                a.MapWebSocket("/inherits", ReportProtocol);
                a.MapWebSocket("/own", ReportProtocol).WithSubProtocols("ep.x");
            },
            o =>
            {
                o.SubProtocols.Add("opt.a");
                o.RequireSubProtocol = true;
            });

        await HostingAssert.RefusedAsync(app, "/inherits", 400);
        await HostingAssert.RefusedAsync(app, "/own", 400, o => o.SubProtocols.Add("opt.a"));
        Assert.Equal("protocol=opt.a", await ConnectAndReadServerProtocolAsync(app, "/inherits", "opt.a", "opt.a"));
        Assert.Equal("protocol=ep.x", await ConnectAndReadServerProtocolAsync(app, "/own", "ep.x", "ep.x"));
    }

    [Theory]
    [InlineData("bad token")]
    [InlineData("")]
    [InlineData("chat/1")]
    [InlineData("chat,v1")]
    public async Task WithSubProtocols_refuses_a_name_that_is_not_a_token(string name)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddWebSockets();
        await using WebApplication app = builder.Build();
        WebSocketEndpointConventionBuilder endpoint = app.MapWebSocket("/chat", ReportProtocol);

        Assert.Throws<ArgumentException>(() => endpoint.WithSubProtocols("chat.v1", name));
    }
}
