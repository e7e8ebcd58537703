using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace AspNetWebSockets.IntegrationTests.Hosting;

/// <summary>The <c>AspNetWebSockets</c> meter: connections, close codes, handshake failures, messages, bytes, compression, send queue.</summary>
public sealed class MetricsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static MetricCollector<T> Collect<T>(TestApp app, string instrument)
        where T : struct =>
        new(app.App.Services.GetRequiredService<IMeterFactory>(), "AspNetWebSockets", instrument);

    [Fact]
    public async Task Connections_messages_bytes_and_close_codes_are_counted()
    {
        await using TestApp app = await TestApp.StartAsync(TransportMode.InMemory, a => a.MapWebSocket("/echo", async (WebSocketConnection socket) =>
        {
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                await socket.SendAsync(message.Data, message.Type);
            }
        }));
        using MetricCollector<long> active = Collect<long>(app, "websocket.server.active_connections");
        using MetricCollector<long> opened = Collect<long>(app, "websocket.server.connections.opened");
        using MetricCollector<long> closed = Collect<long>(app, "websocket.server.connections.closed");
        using MetricCollector<long> received = Collect<long>(app, "websocket.server.messages.received");
        using MetricCollector<long> sent = Collect<long>(app, "websocket.server.messages.sent");
        using MetricCollector<long> bytesReceived = Collect<long>(app, "websocket.server.bytes.received");
        using MetricCollector<double> duration = Collect<double>(app, "websocket.server.connection.duration");

        await using (WebSocketConnection client = await app.ConnectAsync("/echo"))
        {
            foreach (string text in new[] { "one", "two", "three" })
            {
                await client.SendTextAsync(text, Ct);
                using WebSocketMessage? echo = await client.ReceiveAsync(Ct);
                Assert.Equal(text, echo?.GetText());
            }

            await client.CloseAsync(4000, "done", Ct);
        }

        await closed.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(10));
        await duration.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(10));
        Assert.Equal(1, opened.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(0, active.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(3, received.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(3, sent.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(11, bytesReceived.GetMeasurementSnapshot().EvaluateAsCounter());
        CollectedMeasurement<long> close = Assert.Single(closed.GetMeasurementSnapshot());
        Assert.Equal(4000, close.Tags["websocket.close.code"]);
        Assert.Equal(true, close.Tags["websocket.close.clean"]);
        Assert.True(Assert.Single(duration.GetMeasurementSnapshot()).Value >= 0);
    }

    [Fact]
    public async Task Handshake_failures_are_counted_by_reason()
    {
        await using TestApp app = await TestApp.StartAsync(TransportMode.InMemory, a => a.MapWebSocket("/ws", () => Task.CompletedTask));
        using MetricCollector<long> failures = Collect<long>(app, "websocket.server.handshake.failures");

        using HttpClient http = app.App.GetTestServer().CreateClient();
        using HttpResponseMessage response = await http.GetAsync("/ws", Ct);

        Assert.Equal(System.Net.HttpStatusCode.UpgradeRequired, response.StatusCode);
        CollectedMeasurement<long> failure = Assert.Single(failures.GetMeasurementSnapshot());
        Assert.Equal("NotWebSocketUpgrade", failure.Tags["error.type"]);
    }

    [Fact]
    public async Task Send_queue_depth_shows_bytes_a_peer_has_not_taken_yet()
    {
        await using TestApp app = await TestApp.StartAsync(TransportMode.InMemory, a => a.MapWebSocket("/ws", async (WebSocketConnection socket) =>
        {
            await socket.SendBinaryAsync(new byte[1024 * 1024]); // blocks until the client reads: the in-memory pipe holds 64 KiB
            await socket.CloseAsync();
        }));
        using MetricCollector<long> queue = Collect<long>(app, "websocket.server.send_queue.size");
        await using WebSocketConnection client = await app.ConnectAsync("/ws");

        long observed = 0;
        for (int attempt = 0; attempt < 200 && observed < 1024 * 1024; attempt++)
        {
            queue.RecordObservableInstruments();
            observed = queue.LastMeasurement?.Value ?? 0;
            if (observed < 1024 * 1024)
            {
                await Task.Delay(10, Ct);
            }
        }

        Assert.Equal(1024 * 1024, observed);
        using WebSocketMessage? message = await client.ReceiveAsync(Ct);
        Assert.Equal(1024 * 1024, message?.Length);
        Assert.Null(await client.ReceiveAsync(Ct)); // the server's close
        await client.Closed.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        queue.RecordObservableInstruments();
        Assert.Equal(0, queue.LastMeasurement?.Value);
    }
}
