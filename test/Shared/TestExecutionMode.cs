using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;

namespace AspNetWebSockets.TestShared;

/// <summary>
/// The execution mode the Kestrel-hosted suites (integration, conformance, real-client) run in. build/test.sh runs them
/// twice: as they are (the async default), then with <c>ASPNETWEBSOCKETS_TEST_EVENT_LOOP=1</c> and
/// <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c> in the environment from process start (the runtime reads the
/// latter once, at the first socket use, so a test process cannot turn it on later). Every Kestrel host those suites
/// start goes through <see cref="UseLoopbackKestrel"/>, so in the second run every one of them calls
/// <c>UseWebSocketEventLoop()</c>. A third run, with <c>ASPNETWEBSOCKETS_TEST_CLASSIC=1</c>, turns lean connections (on by
/// default) off in every such host. TestServer hosts have no sockets and stay as they are.
/// </summary>
internal static class TestExecutionMode
{
    /// <summary>The environment variable that asks for the event-loop run.</summary>
    public const string Variable = "ASPNETWEBSOCKETS_TEST_EVENT_LOOP";

    /// <summary>Whether this test process is the event-loop run.</summary>
    public static bool EventLoop { get; } = Environment.GetEnvironmentVariable(Variable) == "1";

    /// <summary>The environment variable that asks for the classic run: lean connections off (they are on by default).</summary>
    public const string ClassicVariable = "ASPNETWEBSOCKETS_TEST_CLASSIC";

    /// <summary>Whether this test process is the classic run (every Kestrel host keeps its WebSockets on Kestrel's own transport).</summary>
    public static bool Classic { get; } = Environment.GetEnvironmentVariable(ClassicVariable) == "1";

    /// <summary>Kestrel on 127.0.0.1 with a port the OS picks, in the mode this run asked for.</summary>
    /// <param name="builder">The web host builder.</param>
    /// <param name="listen">Optional: adjusts the endpoint (protocols, TLS).</param>
    /// <returns>The builder.</returns>
    public static IWebHostBuilder UseLoopbackKestrel(this IWebHostBuilder builder, Action<ListenOptions>? listen = null) =>
        builder.UseKestrel(o => o.Listen(IPAddress.Loopback, 0, l => listen?.Invoke(l))).UseEventLoopIfRequested();

    /// <summary>Calls <c>UseWebSocketEventLoop()</c> in the event-loop run, nothing otherwise (for hosts whose Kestrel is set up elsewhere, e.g. by a <c>WebApplicationFactory</c>).</summary>
    /// <param name="builder">The web host builder.</param>
    /// <returns>The builder.</returns>
    public static IWebHostBuilder UseEventLoopIfRequested(this IWebHostBuilder builder)
    {
        if (EventLoop)
        {
            builder.UseWebSocketEventLoop();
        }

        return Classic
            ? builder.ConfigureServices(s => s.PostConfigure<WebSocketServerOptions>(o => o.LeanConnections = false))
            : builder;
    }

    /// <summary>
    /// The guard of the classic run: the started host serves WebSockets over lean connections unless this is the classic
    /// run (then over Kestrel's own transport).
    /// </summary>
    /// <param name="services">The started host's services.</param>
    public static void AssertHostUsesRequestedTransport(IServiceProvider services) =>
        Assert.Equal(!Classic, services.GetRequiredService<IOptions<WebSocketServerOptions>>().Value.LeanConnections);

    /// <summary>
    /// The guard against a matrix run silently in the default mode (or a default run gone inline): the started host's
    /// WebSocket server and Kestrel transport are in the mode this run asked for, and so is the process's socket engine.
    /// </summary>
    /// <param name="services">The started host's services.</param>
    /// <param name="cancellationToken">The test's token.</param>
    public static async Task AssertHostRunsInRequestedModeAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        Assert.Equal(EventLoop, services.GetRequiredService<IOptions<WebSocketServerOptions>>().Value.EventLoop.Enabled);
        Assert.Equal(EventLoop, services.GetRequiredService<IOptions<SocketTransportOptions>>().Value.UnsafePreferInlineScheduling);
        bool inline = await SocketCompletionsRunInlineAsync(cancellationToken);
        Assert.True(
            inline == EventLoop,
            EventLoop
                ? "The event-loop run has no inline socket completions: DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 must be in the test process's environment from its start."
                : $"The default run has inline socket completions: unset DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS, or set {Variable}=1 too.");
    }

    /// <summary>
    /// Whether socket completions run inline on the runtime's epoll thread in this process, measured rather than read
    /// from the runtime's internals: a loopback receive is made pending, then completed by the peer, and its continuation
    /// notes whether it runs on a thread-pool thread (where completions are queued by default) or not (the epoll thread).
    /// Using a socket also fixes the process's mode, if nothing did before.
    /// </summary>
    /// <param name="cancellationToken">The test's token.</param>
    /// <returns>True when completions run inline.</returns>
    public static async Task<bool> SocketCompletionsRunInlineAsync(CancellationToken cancellationToken)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!, cancellationToken);
        using Socket server = await listener.AcceptAsync(cancellationToken);

        var ranOffThreadPool = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        ValueTask<int> receive = server.ReceiveAsync(new byte[1], SocketFlags.None, cancellationToken);
        Assert.False(receive.IsCompleted, "Nothing was sent yet, so the receive must be pending.");
        ValueTaskAwaiter<int> awaiter = receive.GetAwaiter();
        awaiter.UnsafeOnCompleted(() =>
        {
            bool offThreadPool = !Thread.CurrentThread.IsThreadPoolThread;
            try
            {
                awaiter.GetResult();
                ranOffThreadPool.SetResult(offThreadPool);
            }
            catch (Exception e)
            {
                ranOffThreadPool.SetException(e);
            }
        });
        await client.SendAsync(new byte[] { 1 }, SocketFlags.None, cancellationToken);
        return await ranOffThreadPool.Task.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
    }
}
