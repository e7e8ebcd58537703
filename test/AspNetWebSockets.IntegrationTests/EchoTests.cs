using Microsoft.AspNetCore.Hosting;
using AspNetWebSockets.Testing;

namespace AspNetWebSockets.IntegrationTests;

/// <summary>Echo through the real middleware and frame code, over every transport.</summary>
public sealed class EchoTests
{
    private static void MapEcho(WebApplication app) =>
        app.MapWebSocket("/echo", async (WebSocketConnection socket) =>
        {
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                await socket.SendAsync(message.Data, message.Type);
            }
        });

    public static TheoryData<TransportMode, int> ModesAndSizes()
    {
        var data = new TheoryData<TransportMode, int>();
        foreach (TransportMode mode in Enum.GetValues<TransportMode>())
        {
            foreach (int size in new[] { 0, 125, 126, 65535, 65536, 1024 * 1024 })
            {
                data.Add(mode, size);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ModesAndSizes))]
    public async Task Binary_messages_of_boundary_sizes_echo_byte_for_byte(TransportMode mode, int size)
    {
        await using TestApp app = await TestApp.StartAsync(mode, MapEcho, o => o.MaxMessageSize = 2 * 1024 * 1024);
        await using WebSocketConnection client = await app.ConnectAsync("/echo");
        byte[] payload = new byte[size];
        Random.Shared.NextBytes(payload);

        await client.SendBinaryAsync(payload, TestContext.Current.CancellationToken);
        using WebSocketMessage? echo = await client.ReceiveAsync(TestContext.Current.CancellationToken);

        Assert.NotNull(echo);
        Assert.Equal(WebSocketMessageType.Binary, echo.Type);
        Assert.Equal(payload, echo.ToArray());
    }

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task Text_stays_text_including_four_byte_utf8(TransportMode mode)
    {
        await using TestApp app = await TestApp.StartAsync(mode, MapEcho);
        await using WebSocketConnection client = await app.ConnectAsync("/echo");

        await client.SendTextAsync("héllo 👋 wörld", TestContext.Current.CancellationToken);
        using WebSocketMessage? echo = await client.ReceiveAsync(TestContext.Current.CancellationToken);

        Assert.NotNull(echo);
        Assert.True(echo.IsText);
        Assert.Equal("héllo 👋 wörld", echo.GetText());
    }

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task Fragmented_message_is_reassembled_and_many_messages_keep_their_order(TransportMode mode)
    {
        await using TestApp app = await TestApp.StartAsync(mode, MapEcho);
        await using WebSocketConnection client = await app.ConnectAsync("/echo");
        CancellationToken ct = TestContext.Current.CancellationToken;

        await using (WebSocketMessageWriter writer = await client.BeginMessageAsync(WebSocketMessageType.Text, ct))
        {
            byte[] utf8 = Encoding.UTF8.GetBytes("fragmented 👋 text");
            await writer.WriteAsync(utf8.AsMemory(0, 12), ct); // splits the 4-byte emoji across fragments
            await writer.WriteAsync(utf8.AsMemory(12, 1), ct);
            await writer.CompleteAsync(utf8.AsMemory(13), ct);
        }

        for (int i = 0; i < 200; i++)
        {
            await client.SendTextAsync($"message {i}", ct);
        }

        using (WebSocketMessage? first = await client.ReceiveAsync(ct))
        {
            Assert.Equal("fragmented 👋 text", first?.GetText());
        }

        int expected = 0;
        await foreach (WebSocketMessage message in client.ReadAllAsync(ct))
        {
            Assert.Equal($"message {expected}", message.GetText());
            if (++expected == 200)
            {
                break;
            }
        }

        Assert.Equal(200, expected);
    }

    [Fact]
    public async Task Echo_sample_works_through_WebApplicationFactory_in_memory()
    {
        await using var factory = new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program>();
        await using WebSocketConnection client = await factory.ConnectWebSocketAsync("/echo", cancellationToken: TestContext.Current.CancellationToken);

        await client.SendTextAsync("through the factory", TestContext.Current.CancellationToken);
        using WebSocketMessage? echo = await client.ReceiveAsync(TestContext.Current.CancellationToken);

        Assert.Equal("through the factory", echo?.GetText());
        await client.CloseAsync(WebSocketCloseCode.NormalClosure, "done", TestContext.Current.CancellationToken);
        WebSocketCloseInfo closed = await client.Closed;
        Assert.Equal(new WebSocketCloseInfo(1000, "done", true), closed);
    }

    [Fact]
    public async Task Echo_sample_works_through_WebApplicationFactory_on_Kestrel()
    {
        await using var sample = new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program>();
        await using var factory = sample.WithWebHostBuilder(b => b
            .UseEventLoopIfRequested()
            .UseUrls("http://127.0.0.1:0")); // the derived factory does not carry UseKestrel(0)'s port over
        factory.UseKestrel(0);
        factory.StartServer();
        await using WebSocketConnection client = await factory.ConnectWebSocketAsync("/echo", cancellationToken: TestContext.Current.CancellationToken);

        byte[] payload = new byte[70_000];
        Random.Shared.NextBytes(payload);
        await client.SendBinaryAsync(payload, TestContext.Current.CancellationToken);
        using WebSocketMessage? echo = await client.ReceiveAsync(TestContext.Current.CancellationToken);

        Assert.Equal(payload, echo?.ToArray());
    }
}
