using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace AspNetWebSockets.IntegrationTests.Connection;

/// <summary>
/// Message rate limits against a flooding client: backpressure delivers every message, in order, no faster
/// than the limit; the close policy ends the flood with 1008; endpoint-wide and byte limits; the limited-messages metric.
/// </summary>
public sealed class MessageRateLimitTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>An endpoint that records every message's text and when the handler got it.</summary>
    private sealed class Sink
    {
        private readonly List<(string Text, TimeSpan At)> _received = [];
        private readonly Stopwatch _clock = Stopwatch.StartNew();

        /// <summary>How the server saw the (first) connection end.</summary>
        public TaskCompletionSource<WebSocketCloseInfo> ServerClosed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IReadOnlyList<(string Text, TimeSpan At)> Received
        {
            get
            {
                lock (_received)
                {
                    return [.. _received];
                }
            }
        }

        public void Map(WebApplication app, Action<IEndpointConventionBuilder>? conventions = null)
        {
            IEndpointConventionBuilder endpoint = app.MapWebSocket("/flood", async (WebSocketConnection socket) =>
            {
                await foreach (WebSocketMessage message in socket.ReadAllAsync())
                {
                    Record(message.GetText());
                }

                ServerClosed.TrySetResult(await socket.Closed);
            });
            conventions?.Invoke(endpoint);

            // The same sink through the streaming receive, a part of at most 16 bytes at a time.
            app.MapWebSocket("/stream", async (WebSocketConnection socket) =>
            {
                byte[] buffer = new byte[16];
                var text = new List<byte>();
                while (true)
                {
                    ValueWebSocketReceiveResult part = await socket.ReceiveAsync(buffer);
                    if (part.MessageType == WebSocketMessageType.Close)
                    {
                        break;
                    }

                    text.AddRange(buffer.AsSpan(0, part.Count));
                    if (part.EndOfMessage)
                    {
                        Record(Encoding.UTF8.GetString([.. text]));
                        text.Clear();
                    }
                }

                ServerClosed.TrySetResult(await socket.Closed);
            });
        }

        private void Record(string text)
        {
            lock (_received)
            {
                _received.Add((text, _clock.Elapsed));
            }
        }

        public async Task WaitForAsync(int count)
        {
            for (int attempt = 0; attempt < 400 && Received.Count < count; attempt++)
            {
                await Task.Delay(25, Ct);
            }
        }
    }

    private static MetricCollector<long> Limited(TestApp app) =>
        new(app.App.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), "AspNetWebSockets", "websocket.server.messages.limited");

    private static async Task FloodAsync(WebSocketConnection client, int count, int size = 0)
    {
        for (int i = 0; i < count && client.ReadyState == WebSocketReadyState.Open; i++)
        {
            try
            {
                await client.SendTextAsync(size == 0 ? "m" + i : ("m" + i).PadRight(size, '.'), Ct);
            }
            catch (WebSocketException)
            {
                return; // the server closed the connection under us
            }
        }
    }

    [Fact]
    public async Task Backpressure_delivers_every_message_in_order_no_faster_than_the_limit()
    {
        var sink = new Sink();
        await using TestApp app = await TestApp.StartAsync(TransportMode.InMemory, a => sink.Map(a), o => o.MessageRateLimit.MessagesPerSecond = 20);
        using MetricCollector<long> limited = Limited(app);
        await using WebSocketConnection client = await app.ConnectAsync("/flood");

        await FloodAsync(client, 60);
        await sink.WaitForAsync(60);

        IReadOnlyList<(string Text, TimeSpan At)> received = sink.Received;
        Assert.Equal(Enumerable.Range(0, 60).Select(i => "m" + i), received.Select(r => r.Text));
        Assert.Equal(WebSocketReadyState.Open, client.ReadyState);

        // A bucket of 20 that refills at 20/s: 60 messages need at least two seconds after the first 20 (a correctness
        // bound on the limiter, loose by half; not a performance assertion).
        Assert.True(received[^1].At - received[0].At >= TimeSpan.FromSeconds(1.5), $"60 messages in {(received[^1].At - received[0].At).TotalMilliseconds} ms");
        CollectedMeasurement<long>[] measurements = [.. limited.GetMeasurementSnapshot()];
        Assert.NotEmpty(measurements);
        Assert.All(measurements, m => Assert.Equal(("connection", "backpressure"), ((string)m.Tags["websocket.rate_limit.scope"]!, (string)m.Tags["websocket.rate_limit.policy"]!)));
    }

    [Theory]
    [InlineData("/flood")]
    [InlineData("/stream")] // ReceiveAsync(Memory<byte>): a streamed message counts once, at its end
    public async Task The_close_policy_ends_a_flood_with_1008(string path)
    {
        var sink = new Sink();
        await using TestApp app = await TestApp.StartAsync(TransportMode.InMemory, a => sink.Map(a), o =>
        {
            o.MessageRateLimit.MessagesPerSecond = 5;
            o.MessageRateLimit.Policy = WebSocketRateLimitPolicy.Close;
        });
        using MetricCollector<long> limited = Limited(app);
        await using WebSocketConnection client = await app.ConnectAsync(path);
        Task<WebSocketMessage?> reading = client.ReceiveAsync(Ct).AsTask();

        await FloodAsync(client, 200, size: path == "/stream" ? 40 : 0); // 40 bytes: each streamed message in three parts

        WebSocketCloseInfo closed = await client.Closed.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Equal((1008, "Message rate limit exceeded"), (closed.Code, closed.Reason));
        WebSocketCloseInfo serverSaw = await sink.ServerClosed.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Equal((1008, true), (serverSaw.Code, serverSaw.WasClean)); // the server's close drained the flood to the peer's reply
        Assert.Null(await reading);
        Assert.InRange(sink.Received.Count, 5, 6); // the bucket's five (a sixth if it refilled a token meanwhile)
        await limited.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(10));
        Assert.Equal("close", Assert.Single(limited.GetMeasurementSnapshot()).Tags["websocket.rate_limit.policy"]);
    }

    [Fact]
    public async Task An_endpoint_limit_is_shared_by_the_endpoints_connections()
    {
        var sink = new Sink();
        await using TestApp app = await TestApp.StartAsync(TransportMode.InMemory, a => sink.Map(a, e => e.WithMessageRateLimit(o =>
        {
            o.EndpointMessagesPerSecond = 10;
            o.Policy = WebSocketRateLimitPolicy.Close;
        })));
        using MetricCollector<long> limited = Limited(app);
        await using WebSocketConnection first = await app.ConnectAsync("/flood");
        await using WebSocketConnection second = await app.ConnectAsync("/flood");
        _ = second.ReceiveAsync(Ct).AsTask(); // a pending read answers the server's close

        await FloodAsync(first, 8); // within the endpoint's 10 on its own
        await sink.WaitForAsync(8);
        await FloodAsync(second, 8); // together over it

        WebSocketCloseInfo closed = await second.Closed.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Equal(1008, closed.Code);
        await limited.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(10));
        Assert.Equal("endpoint", limited.GetMeasurementSnapshot()[0].Tags["websocket.rate_limit.scope"]);
    }

    [Fact]
    public async Task A_bytes_limit_counts_payload_and_a_message_bigger_than_the_bucket_costs_all_of_it()
    {
        var sink = new Sink();
        await using TestApp app = await TestApp.StartAsync(TransportMode.InMemory, a => sink.Map(a), o =>
        {
            o.MessageRateLimit.BytesPerSecond = 1000;
            o.MessageRateLimit.Policy = WebSocketRateLimitPolicy.Close;
        });
        await using WebSocketConnection client = await app.ConnectAsync("/flood");
        _ = client.ReceiveAsync(Ct).AsTask(); // a pending read answers the server's close

        await FloodAsync(client, 1, size: 5000); // bigger than the bucket: admitted, empties it
        await FloodAsync(client, 5, size: 100);

        WebSocketCloseInfo closed = await client.Closed.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Equal(1008, closed.Code);
        Assert.Single(sink.Received, r => r.Text.Length == 5000);
    }

    [Fact]
    public async Task Without_limits_a_flood_is_delivered_at_once_and_nothing_is_counted()
    {
        var sink = new Sink();
        await using TestApp app = await TestApp.StartAsync(TransportMode.InMemory, a => sink.Map(a));
        using MetricCollector<long> limited = Limited(app);
        await using WebSocketConnection client = await app.ConnectAsync("/flood");

        await FloodAsync(client, 200);
        await sink.WaitForAsync(200);

        Assert.Equal(200, sink.Received.Count);
        Assert.Empty(limited.GetMeasurementSnapshot());
    }

    [Fact]
    public void Invalid_limits_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new RouteEndpointBuilderStub().WithMessageRateLimit(o => o.MessagesPerSecond = 0));
        var options = new WebSocketServerOptions();
        options.MessageRateLimit.BytesPerSecond = -1;
        Assert.Contains("BytesPerSecond", new AspNetWebSockets.Hosting.WebSocketServerOptionsValidator().Validate(null, options).FailureMessage);
    }

    private sealed class RouteEndpointBuilderStub : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
        }
    }
}
