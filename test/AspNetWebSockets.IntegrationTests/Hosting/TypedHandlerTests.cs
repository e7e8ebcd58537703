using System.Collections.Concurrent;
using AspNetWebSockets.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace AspNetWebSockets.IntegrationTests.Hosting;

/// <summary>
/// <c>MapWebSocket&lt;THandler&gt;</c>: one DI-created instance per connection, open → messages in order → exactly one
/// close with the browser's close vocabulary (and the exception, if the handler threw) → dispose.
/// </summary>
public sealed class TypedHandlerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<T> Within<T>(Task<T> task) => task.WaitAsync(TimeSpan.FromSeconds(10), Ct);

    /// <summary>What the handlers saw, recorded by a singleton the handlers get by constructor injection.</summary>
    public sealed class Journal
    {
        public ConcurrentQueue<string> Events { get; } = new();

        public TaskCompletionSource<(WebSocketCloseInfo Close, Exception? Exception)> Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Disposed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [AttributeUsage(AttributeTargets.Class)]
    private sealed class TagAttribute(string value) : Attribute
    {
        public string Value { get; } = value;
    }

    /// <summary>Greets with the route value, echoes, closes on "close", throws on "throw".</summary>
    [Tag("echo-handler")]
    private sealed class EchoHandler(Journal journal) : WebSocketHandler, IAsyncDisposable
    {
        public override async ValueTask OnOpenAsync(CancellationToken cancellationToken)
        {
            journal.Events.Enqueue("open");
            await Connection.SendTextAsync("hello " + Context.GetRouteValue("room"), cancellationToken);
        }

        public override async ValueTask OnMessageAsync(WebSocketMessage message, CancellationToken cancellationToken)
        {
            string text = message.GetText();
            journal.Events.Enqueue("message " + text);
            switch (text)
            {
                case "throw":
                    throw new InvalidOperationException("handler bug");
                case "close":
                    await Connection.CloseAsync(4000, "done", cancellationToken);
                    break;
                default:
                    await Connection.SendTextAsync(text, cancellationToken);
                    break;
            }
        }

        public override ValueTask OnCloseAsync(WebSocketCloseInfo close, Exception? exception)
        {
            journal.Events.Enqueue("close " + close.Code);
            journal.Closed.TrySetResult((close, exception));
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            journal.Events.Enqueue("dispose");
            journal.Disposed.TrySetResult();
            return ValueTask.CompletedTask;
        }
    }

    private static async Task<(TestApp App, Journal Journal)> StartAsync(TransportMode mode)
    {
        var journal = new Journal();
        TestApp app = await TestApp.StartAsync(
            mode,
            a => a.MapWebSocket<EchoHandler>("/rooms/{room}"),
            services: s => s.AddSingleton(journal));
        return (app, journal);
    }

    private static async Task<string> ReceiveTextAsync(WebSocketConnection client)
    {
        using WebSocketMessage? message = await Within(client.ReceiveAsync(Ct).AsTask());
        Assert.NotNull(message);
        return message.GetText();
    }

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task Handler_is_opened_gets_each_message_in_order_and_sees_the_peers_close(TransportMode mode)
    {
        (TestApp app, Journal journal) = await StartAsync(mode);
        await using (app)
        {
            await using WebSocketConnection client = await app.ConnectAsync("/rooms/lobby");
            Assert.Equal("hello lobby", await ReceiveTextAsync(client));
            for (int i = 0; i < 20; i++)
            {
                await client.SendTextAsync("m" + i, Ct);
            }

            for (int i = 0; i < 20; i++)
            {
                Assert.Equal("m" + i, await ReceiveTextAsync(client));
            }

            await client.CloseAsync(1000, "bye", Ct);
            (WebSocketCloseInfo close, Exception? exception) = await Within(journal.Closed.Task);
            await journal.Disposed.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);

            Assert.Equal(new WebSocketCloseInfo(1000, "bye", WasClean: true), close);
            Assert.Null(exception);
            string[] expected = ["open", .. Enumerable.Range(0, 20).Select(i => "message m" + i), "close 1000", "dispose"];
            Assert.Equal(expected, journal.Events.ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task A_close_started_by_the_handler_reaches_the_peer_and_OnCloseAsync(TransportMode mode)
    {
        (TestApp app, Journal journal) = await StartAsync(mode);
        await using (app)
        {
            await using WebSocketConnection client = await app.ConnectAsync("/rooms/a");
            Assert.Equal("hello a", await ReceiveTextAsync(client));
            await client.SendTextAsync("close", Ct);

            Assert.Null(await Within(client.ReceiveAsync(Ct).AsTask()));
            Assert.Equal(new WebSocketCloseInfo(4000, "done", WasClean: true), await Within(client.Closed));
            (WebSocketCloseInfo close, Exception? exception) = await Within(journal.Closed.Task);

            // RFC 6455 §7.1.5: the close code is the one in the first Close frame *received* — the peer's reply,
            // which echoes our code and reason.
            Assert.Equal(new WebSocketCloseInfo(4000, "done", WasClean: true), close);
            Assert.Null(exception);
        }
    }

    [Theory]
    [MemberData(nameof(TestApp.AllModes), MemberType = typeof(TestApp))]
    public async Task A_throwing_handler_closes_with_1011_and_OnCloseAsync_receives_the_exception(TransportMode mode)
    {
        (TestApp app, Journal journal) = await StartAsync(mode);
        await using (app)
        {
            await using WebSocketConnection client = await app.ConnectAsync("/rooms/a");
            Assert.Equal("hello a", await ReceiveTextAsync(client));
            await client.SendTextAsync("throw", Ct);

            Assert.Null(await Within(client.ReceiveAsync(Ct).AsTask()));
            WebSocketCloseInfo seenByClient = await Within(client.Closed);
            Assert.Equal(WebSocketCloseCode.InternalServerError, seenByClient.Code);
            Assert.Equal(string.Empty, seenByClient.Reason); // no exception details on the wire

            (WebSocketCloseInfo close, Exception? exception) = await Within(journal.Closed.Task);
            Assert.Equal(WebSocketCloseCode.InternalServerError, close.Code);
            Assert.True(close.WasClean);
            Assert.Equal("handler bug", Assert.IsType<InvalidOperationException>(exception).Message);
            await journal.Disposed.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        }
    }

    [Fact]
    public async Task Each_connection_gets_its_own_instance_and_the_class_attributes_are_endpoint_metadata()
    {
        (TestApp app, Journal journal) = await StartAsync(TransportMode.InMemory);
        await using (app)
        {
            await using WebSocketConnection first = await app.ConnectAsync("/rooms/one");
            await using WebSocketConnection second = await app.ConnectAsync("/rooms/two");
            Assert.Equal("hello one", await ReceiveTextAsync(first));
            Assert.Equal("hello two", await ReceiveTextAsync(second));
            await second.SendTextAsync("x", Ct);
            Assert.Equal("x", await ReceiveTextAsync(second));
            await first.SendTextAsync("y", Ct);
            Assert.Equal("y", await ReceiveTextAsync(first));

            Endpoint endpoint = Assert.Single(app.App.Services.GetRequiredService<EndpointDataSource>().Endpoints,
                e => e.DisplayName?.Contains("EchoHandler", StringComparison.Ordinal) == true);
            Assert.Equal("echo-handler", endpoint.Metadata.GetMetadata<TagAttribute>()?.Value);
            Assert.Equal(2, journal.Events.Count(e => e == "open"));
        }
    }

    /// <summary>The README's example, verbatim: relays each message to the rest of the room.</summary>
    private sealed class ChatHandler(IWebSocketGroups groups) : WebSocketHandler
    {
        string Room => (string)Context.GetRouteValue("room")!;
        public override ValueTask OnOpenAsync(CancellationToken ct) => groups.AddAsync(Connection, Room, ct);
        public override ValueTask OnMessageAsync(WebSocketMessage m, CancellationToken ct) =>
            groups.SendToGroupAsync(Room, m.Data, m.Type, except: Connection, ct);  // m is valid during the call only
    }

    [Fact]
    public async Task The_README_chat_handler_relays_to_the_rest_of_its_room_only()
    {
        await using TestApp app = await TestApp.StartAsync(
            TransportMode.InMemory,
            a => a.MapWebSocket<ChatHandler>("/chat/{room}"),
            services: s => s.AddWebSocketGroups());
        await using WebSocketConnection alice = await app.ConnectAsync("/chat/a");
        await using WebSocketConnection bob = await app.ConnectAsync("/chat/a");
        await using WebSocketConnection carol = await app.ConnectAsync("/chat/b");
        IWebSocketGroups groups = app.App.Services.GetRequiredService<IWebSocketGroups>();
        for (int i = 0; i < 100 && groups.GetLocalMembers("a").Count < 2; i++)
        {
            await Task.Delay(20, Ct); // joins happen in OnOpenAsync, after the client's handshake completed
        }

        await alice.SendTextAsync("hi room a", Ct);
        await carol.SendTextAsync("hi room b", Ct);

        Assert.Equal("hi room a", await ReceiveTextAsync(bob));
        await bob.SendTextAsync("hi alice", Ct);
        Assert.Equal("hi alice", await ReceiveTextAsync(alice)); // alice did not get her own message first
    }
}
