using System.Net.WebSockets;
using AspNetWebSockets.Protocol;
using AspNetWebSockets.Transport;

namespace AspNetWebSockets.Tests.Compatibility;

/// <summary>
/// <see cref="WebSocketConnectionCompatibilityExtensions.AsWebSocket"/> gives each connection one view, made once even when
/// asked for from several threads at the same time, and another connection another view.
/// </summary>
public sealed class AsWebSocketTests
{
    [Fact]
    public async Task Each_connection_has_one_view_however_many_threads_ask_for_it()
    {
        const int Threads = 8;
        WebSocketConnection connection = Open("one");
        WebSocketConnection other = Open("two");
        try
        {
            using var start = new Barrier(Threads);
            WebSocket[] views = await Task.WhenAll(Enumerable.Range(0, Threads).Select(_ => Task.Run(() =>
            {
                start.SignalAndWait(TestContext.Current.CancellationToken);
                return connection.AsWebSocket();
            }, TestContext.Current.CancellationToken)));

            Assert.All(views, view => Assert.Same(views[0], view));
            Assert.Same(views[0], connection.AsWebSocket());
            Assert.NotSame(views[0], other.AsWebSocket());
            Assert.Same(other.AsWebSocket(), other.AsWebSocket());
        }
        finally
        {
            connection.Abort(); // no peer to answer a close handshake
            other.Abort();
        }
    }

    private static WebSocketConnection Open(string id) => new(
        new StreamTransport(new MemoryStream()),
        new WebSocketConnectionSettings { Role = WebSocketRole.Server, Limits = new DecoderLimits(1000, 1000, 10) },
        new PerConnectionSettings { ConnectionId = id });
}
