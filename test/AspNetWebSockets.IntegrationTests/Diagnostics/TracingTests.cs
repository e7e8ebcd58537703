using System.Diagnostics;

namespace AspNetWebSockets.IntegrationTests.Diagnostics;

/// <summary>
/// The <c>AspNetWebSockets</c> activity source: the upgrade and connection spans continue the client's trace, the
/// connection span ends with the close, and per-message spans are off unless asked for, then sampled.
/// </summary>
public sealed class TracingTests
{
    private const string Upgrade = "websocket.server.upgrade";
    private const string Connection = "websocket.server.connection";
    private const string Process = "websocket.server.process";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<TestApp> StartEchoAsync(Action<WebSocketServerOptions>? configure = null) =>
        TestApp.StartAsync(TransportMode.InMemory, a => a.MapWebSocket("/traced/{room}", async (WebSocketConnection socket) =>
        {
            await foreach (WebSocketMessage message in socket.ReadAllAsync())
            {
                await socket.SendAsync(message.Data, message.Type);
            }
        }), configure);

    /// <summary>Connects with a fresh <c>traceparent</c>, echoes <paramref name="messages"/> messages and closes with 4000.</summary>
    private static async Task<(ActivityTraceId Trace, ActivitySpanId ClientSpan)> RunTracedConnectionAsync(TestApp app, int messages)
    {
        ActivityTraceId trace = ActivityTraceId.CreateRandom();
        ActivitySpanId clientSpan = ActivitySpanId.CreateRandom();
        await using WebSocketConnection client = await app.ConnectAsync("/traced/lobby", o => o.Headers["traceparent"] = $"00-{trace}-{clientSpan}-01");
        for (int i = 0; i < messages; i++)
        {
            await client.SendTextAsync("m" + i, Ct);
            using WebSocketMessage? echo = await client.ReceiveAsync(Ct);
            Assert.Equal("m" + i, echo?.GetText());
        }

        await client.CloseAsync(4000, "done", Ct);
        return (trace, clientSpan);
    }

    [Fact]
    public async Task Upgrade_and_connection_spans_continue_the_clients_trace_and_end_with_the_close()
    {
        using var recorder = new ActivityRecorder("AspNetWebSockets");
        await using TestApp app = await StartEchoAsync();
        (ActivityTraceId trace, ActivitySpanId clientSpan) = await RunTracedConnectionAsync(app, messages: 2);

        Activity connection = Assert.Single(await recorder.WaitForAsync(trace, Connection, 1));
        Activity upgrade = Assert.Single(recorder.InTrace(trace, Upgrade));

        // Only this source is listened to, so ASP.NET Core made no request span: the traceparent header is the parent.
        Assert.Equal(clientSpan, upgrade.ParentSpanId);
        Assert.Equal(clientSpan, connection.ParentSpanId);
        Assert.Equal("upgrade /traced/{room}", upgrade.DisplayName);
        Assert.Equal("connection /traced/{room}", connection.DisplayName);
        Assert.Equal("/traced/{room}", connection.GetTagItem("http.route"));
        Assert.Equal("websocket", connection.GetTagItem("network.protocol.name"));
        Assert.Equal(4000, connection.GetTagItem("websocket.close.code"));
        Assert.Equal("done", connection.GetTagItem("websocket.close.reason"));
        Assert.Equal(true, connection.GetTagItem("websocket.close.clean"));
        Assert.Equal(ActivityStatusCode.Unset, connection.Status);
        Assert.True(upgrade.StartTimeUtc <= connection.StartTimeUtc);
        Assert.Empty(recorder.InTrace(trace, Process)); // off by default
    }

    [Fact]
    public async Task With_the_request_span_recorded_both_spans_are_its_children()
    {
        using var recorder = new ActivityRecorder("AspNetWebSockets", "Microsoft.AspNetCore");
        await using TestApp app = await StartEchoAsync();
        (ActivityTraceId trace, ActivitySpanId clientSpan) = await RunTracedConnectionAsync(app, messages: 0);

        Activity connection = Assert.Single(await recorder.WaitForAsync(trace, Connection, 1));
        Activity request = Assert.Single(await recorder.WaitForAsync(trace, "Microsoft.AspNetCore.Hosting.HttpRequestIn", 1));
        Activity upgrade = Assert.Single(recorder.InTrace(trace, Upgrade));
        Assert.Equal(clientSpan, request.ParentSpanId);
        Assert.Equal(request.SpanId, upgrade.ParentSpanId);
        Assert.Equal(request.SpanId, connection.ParentSpanId);
    }

    [Fact]
    public async Task A_connection_that_drops_ends_its_span_as_an_error()
    {
        using var recorder = new ActivityRecorder("AspNetWebSockets");
        await using TestApp app = await StartEchoAsync();
        ActivityTraceId trace = ActivityTraceId.CreateRandom();
        WebSocketConnection client = await app.ConnectAsync("/traced/x", o => o.Headers["traceparent"] = $"00-{trace}-{ActivitySpanId.CreateRandom()}-01");
        client.Abort();

        Activity connection = Assert.Single(await recorder.WaitForAsync(trace, Connection, 1));
        Assert.Equal(1006, connection.GetTagItem("websocket.close.code"));
        Assert.Equal(false, connection.GetTagItem("websocket.close.clean"));
        Assert.Equal(ActivityStatusCode.Error, connection.Status);
    }

    [Fact]
    public async Task Message_spans_when_enabled_are_children_of_the_connection_span()
    {
        using var recorder = new ActivityRecorder("AspNetWebSockets");
        await using TestApp app = await StartEchoAsync(o => o.Tracing.MessageSpans = true);
        (ActivityTraceId trace, _) = await RunTracedConnectionAsync(app, messages: 3);

        Activity connection = Assert.Single(await recorder.WaitForAsync(trace, Connection, 1));
        IReadOnlyList<Activity> spans = await recorder.WaitForAsync(trace, Process, 3);
        Assert.Equal(3, spans.Count);
        Assert.All(spans, s =>
        {
            Assert.Equal(connection.SpanId, s.ParentSpanId);
            Assert.Equal(ActivityKind.Consumer, s.Kind);
            Assert.Equal("process /traced/{room}", s.DisplayName);
            Assert.Equal("process", s.GetTagItem("messaging.operation.type"));
            Assert.Equal(2, s.GetTagItem("messaging.message.body.size"));
            Assert.Equal("text", s.GetTagItem("websocket.message.type"));
        });
    }

    [Fact]
    public async Task Message_spans_are_sampled_by_ratio()
    {
        using var recorder = new ActivityRecorder("AspNetWebSockets");
        await using TestApp app = await StartEchoAsync(o =>
        {
            o.Tracing.MessageSpans = true;
            o.Tracing.MessageSampleRatio = 0;
        });
        (ActivityTraceId trace, _) = await RunTracedConnectionAsync(app, messages: 5);

        Assert.Single(await recorder.WaitForAsync(trace, Connection, 1));
        Assert.Empty(recorder.InTrace(trace, Process));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WebSocketTracingOptions().MessageSampleRatio = 1.5);
    }
}
