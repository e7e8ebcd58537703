using System.Net;
using System.Net.Http;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

using AspNetWebSockets.TestShared;

namespace AspNetWebSockets.IntegrationTests.Hosting;

/// <summary>
/// RFC 8441: WebSockets over HTTP/2 extended CONNECT on the same MapWebSocket endpoints, with ClientWebSocket over TLS
/// (a certificate made in the test) and over h2c, including several WebSockets sharing one HTTP/2 connection.
/// </summary>
public sealed class Http2WebSocketTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;


    private static async Task<(WebApplication App, Uri Address, List<string> ConnectionIds)> StartAsync(bool tls)
    {
        var connectionIds = new List<string>();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        X509Certificate2? certificate = tls ? LocalhostCertificate.Create() : null;
        builder.WebHost.UseLoopbackKestrel(listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            if (certificate is not null)
            {
                listen.UseHttps(certificate);
            }
        });
        builder.Logging.ClearProviders();
        builder.Services.AddWebSockets();
        WebApplication app = builder.Build();
        app.MapWebSocket("/echo", async (WebSocketConnection socket, HttpContext context) =>
        {
            lock (connectionIds)
            {
                connectionIds.Add($"{context.Request.Protocol} {context.Connection.Id}");
            }

            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                await socket.SendAsync(message.Data, message.Type);
            }
        }).WithSubProtocols("chat.v1");
        await app.StartAsync(Ct);
        Uri http = new(app.Urls.First());
        var address = new UriBuilder(http) { Scheme = tls ? "wss" : "ws" }.Uri;
        return (app, address, connectionIds);
    }

    private static ClientWebSocket Http2Client()
    {
        var client = new ClientWebSocket();
        client.Options.HttpVersion = HttpVersion.Version20;
        client.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        client.Options.AddSubProtocol("chat.v1");
        return client;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ClientWebSocket_over_HTTP2_echoes_and_closes(bool tls)
    {
        (WebApplication app, Uri address, List<string> ids) = await StartAsync(tls);
        await using (app)
        {
            using var handler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } };
            using var invoker = new HttpMessageInvoker(handler);
            using ClientWebSocket client = Http2Client();
            await client.ConnectAsync(new Uri(address, "/echo"), invoker, Ct);

            Assert.Equal("chat.v1", client.SubProtocol);
            foreach (int size in new[] { 0, 125, 70_000, 1024 * 1024 })
            {
                byte[] payload = new byte[size];
                Random.Shared.NextBytes(payload);
                await client.SendAsync(payload, WebSocketMessageType.Binary, endOfMessage: true, Ct);
                byte[] echo = await ReceiveAsync(client);
                Assert.Equal(payload, echo);
            }

            await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", Ct);
            Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
            Assert.All(ids, id => Assert.StartsWith("HTTP/2", id, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Several_WebSockets_share_one_HTTP2_connection()
    {
        (WebApplication app, Uri address, List<string> ids) = await StartAsync(tls: true);
        await using (app)
        {
            using var handler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } };
            using var invoker = new HttpMessageInvoker(handler);
            var clients = new List<ClientWebSocket>();
            for (int i = 0; i < 3; i++)
            {
                ClientWebSocket client = Http2Client();
                await client.ConnectAsync(new Uri(address, "/echo"), invoker, Ct);
                clients.Add(client);
            }

            for (int i = 0; i < clients.Count; i++)
            {
                byte[] text = Encoding.UTF8.GetBytes($"stream {i}");
                await clients[i].SendAsync(text, WebSocketMessageType.Text, endOfMessage: true, Ct);
            }

            for (int i = 0; i < clients.Count; i++)
            {
                Assert.Equal($"stream {i}", Encoding.UTF8.GetString(await ReceiveAsync(clients[i])));
                await clients[i].CloseAsync(WebSocketCloseStatus.NormalClosure, null, Ct);
                clients[i].Dispose();
            }

            Assert.Equal(3, ids.Count);
            Assert.Single(ids.Distinct()); // one TCP+TLS connection carried all three WebSockets
        }
    }

    [Fact]
    public async Task Extended_CONNECT_with_another_protocol_or_version_is_refused()
    {
        (WebApplication app, Uri address, _) = await StartAsync(tls: false);
        await using (app)
        {
            using var handler = new SocketsHttpHandler();
            using var invoker = new HttpMessageInvoker(handler);
            var target = new UriBuilder(address) { Scheme = "http", Path = "/echo" }.Uri;

            using var wrongProtocol = new HttpRequestMessage(HttpMethod.Connect, target) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
            wrongProtocol.Headers.Protocol = "not-websocket";
            wrongProtocol.Headers.Add("Sec-WebSocket-Version", "13");
            using HttpResponseMessage refused = await invoker.SendAsync(wrongProtocol, Ct);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);

            using var wrongVersion = new HttpRequestMessage(HttpMethod.Connect, target) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
            wrongVersion.Headers.Protocol = "websocket";
            wrongVersion.Headers.Add("Sec-WebSocket-Version", "8");
            using HttpResponseMessage upgradeRequired = await invoker.SendAsync(wrongVersion, Ct);
            Assert.Equal(HttpStatusCode.UpgradeRequired, upgradeRequired.StatusCode);
            Assert.Equal("13", upgradeRequired.Headers.GetValues("Sec-WebSocket-Version").Single());
        }
    }

    private static async Task<byte[]> ReceiveAsync(ClientWebSocket client)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        bound.CancelAfter(TimeSpan.FromSeconds(10));
        var data = new MemoryStream();
        byte[] buffer = new byte[64 * 1024];
        while (true)
        {
            WebSocketReceiveResult result = await client.ReceiveAsync(buffer, bound.Token);
            Assert.NotEqual(WebSocketMessageType.Close, result.MessageType);
            data.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return data.ToArray();
            }
        }
    }
}
