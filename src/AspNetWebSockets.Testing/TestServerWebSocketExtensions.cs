using System.IO.Pipelines;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace AspNetWebSockets.Testing;

/// <summary>Connects WebSocket clients to apps under test: in memory through <see cref="TestServer"/>, or over TCP.</summary>
public static class TestServerWebSocketExtensions
{
    /// <summary>
    /// Connects to a WebSocket endpoint of the app under test. In memory (no sockets) when the factory runs on
    /// <see cref="TestServer"/>; over TCP when it runs on Kestrel (<c>factory.UseKestrel()</c>).
    /// </summary>
    /// <typeparam name="TEntryPoint">The app's entry point.</typeparam>
    /// <param name="factory">The factory.</param>
    /// <param name="path">Path and query, e.g. <c>/chat/lobby</c>.</param>
    /// <param name="configure">Client options (subprotocols, origin, headers).</param>
    /// <param name="cancellationToken">Cancels the handshake.</param>
    /// <returns>An open client connection.</returns>
    /// <exception cref="WebSocketHandshakeException">The server refused the upgrade.</exception>
    public static Task<WebSocketConnection> ConnectWebSocketAsync<TEntryPoint>(this WebApplicationFactory<TEntryPoint> factory, string path, Action<WebSocketClientOptions>? configure = null, CancellationToken cancellationToken = default)
        where TEntryPoint : class
    {
        ArgumentNullException.ThrowIfNull(factory);
        IServer server = factory.Services.GetRequiredService<IServer>();
        if (server is TestServer testServer)
        {
            return testServer.ConnectWebSocketAsync(path, configure, cancellationToken);
        }

        string address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("The server has no listening address.");
        var uri = new UriBuilder(address) { Scheme = address.StartsWith("https", StringComparison.OrdinalIgnoreCase) ? "wss" : "ws" };
        return WebSocketTestClient.ConnectAsync(new Uri(uri.Uri, path), configure, cancellationToken);
    }

    /// <summary>Connects in memory to a WebSocket endpoint of a <see cref="TestServer"/>: the app's real handshake and frame code run, with no sockets.</summary>
    /// <param name="server">The test server.</param>
    /// <param name="path">Path and query, e.g. <c>/chat/lobby?x=1</c>.</param>
    /// <param name="configure">Client options.</param>
    /// <param name="cancellationToken">Cancels the handshake.</param>
    /// <returns>An open client connection.</returns>
    /// <exception cref="WebSocketHandshakeException">The server refused the upgrade.</exception>
    public static async Task<WebSocketConnection> ConnectWebSocketAsync(this TestServer server, string path, Action<WebSocketClientOptions>? configure = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(path);
        var options = new WebSocketClientOptions();
        configure?.Invoke(options);

        var toServer = new Pipe();
        var toClient = new Pipe();
        var serverStream = new DuplexPipeStream(toServer.Reader, toClient.Writer);
        var upgraded = new TaskCompletionSource<IHeaderDictionary>(TaskCreationOptions.RunContinuationsAsynchronously);
        string key = ClientHandshake.CreateKey();
        int queryStart = path.IndexOf('?');

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.HandshakeTimeout);
        Task<HttpContext> exchange = server.SendAsync(context =>
        {
            HttpRequest request = context.Request;
            request.Method = HttpMethods.Get;
            request.Path = PathString.FromUriComponent(queryStart < 0 ? path : path[..queryStart]);
            request.QueryString = queryStart < 0 ? QueryString.Empty : QueryString.FromUriComponent(path[queryStart..]);
            ClientHandshake.AddRequestHeaders(request.Headers, key, options);
            context.Features.Set<IHttpUpgradeFeature>(new InMemoryUpgradeFeature(context, serverStream, upgraded));
        }, timeout.Token);
        _ = exchange.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default); // observe faults after the upgrade

        Task first = await Task.WhenAny(upgraded.Task, exchange).WaitAsync(timeout.Token).ConfigureAwait(false);
        if (first != upgraded.Task && !upgraded.Task.IsCompleted)
        {
            HttpContext refused = await exchange.ConfigureAwait(false);
            ClientHandshake.ValidateResponse(refused.Response.StatusCode, refused.Response.Headers, key, options);
        }

        IHeaderDictionary headers = await upgraded.Task.ConfigureAwait(false);
        string? subProtocol = ClientHandshake.ValidateResponse(StatusCodes.Status101SwitchingProtocols, headers, key, options);
        // Disposing the client's stream (abort, or after the close handshake) completes its two pipe ends: the server reads end-of-stream.
        var clientStream = new DuplexPipeStream(toClient.Reader, toServer.Writer);
        return ClientHandshake.CreateConnection(clientStream, subProtocol, options);
    }
}
