using AspNetWebSockets;
using AspNetWebSockets.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Hosting;

/// <summary>The event-loop execution mode's switch on the host builder.</summary>
public static class WebSocketEventLoopWebHostBuilderExtensions
{
    /// <summary>
    /// Runs WebSocket connections as an event loop, like Node and uWebSockets: socket completions run inline on the
    /// runtime's epoll threads (<c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c>, set here unless the environment
    /// already sets it) and Kestrel runs sends and the code after each receive inline instead of queueing them
    /// (<see cref="SocketTransportOptions.UnsafePreferInlineScheduling"/>). Nothing hops threads, and everything a handler
    /// sends while handling a read leaves in one flush.
    /// </summary>
    /// <remarks>
    /// <para><b>Handlers must not block.</b> A handler that waits synchronously (<c>.Result</c>, <c>Thread.Sleep</c>, a
    /// synchronous database call) or computes for long holds its I/O thread, and every connection on that thread waits.
    /// Such callbacks are counted (<c>websocket.server.event_loop.stalls</c>) and logged; move the work off the loop
    /// (<c>await</c> it, or <c>Task.Run</c>).</para>
    /// <para>Inline socket completions are process-wide (they also apply to the app's other sockets: HTTP clients, Redis)
    /// and the runtime reads them once, when the first socket is used: call this while building the host, before
    /// anything opens a socket. The startup log says whether they took effect.</para>
    /// </remarks>
    /// <param name="builder">The web host builder (<c>builder.WebHost</c>).</param>
    /// <param name="configure">Optional: the stall threshold (<see cref="WebSocketEventLoopOptions"/>).</param>
    /// <returns>The builder.</returns>
    public static IWebHostBuilder UseWebSocketEventLoop(this IWebHostBuilder builder, Action<WebSocketEventLoopOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        InlineSocketCompletions.Request();
        return builder.ConfigureServices(services =>
        {
            services.Configure<SocketTransportOptions>(o => o.UnsafePreferInlineScheduling = true);
            services.Configure<WebSocketServerOptions>(o =>
            {
                o.EventLoop.Enabled = true;
                configure?.Invoke(o.EventLoop);
            });
        });
    }
}
