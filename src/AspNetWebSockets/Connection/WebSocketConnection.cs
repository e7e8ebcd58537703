using System.IO.Pipelines;
using System.Net.WebSockets;
using AspNetWebSockets.Protocol;
using AspNetWebSockets.Transport;
using Microsoft.Extensions.Logging;

namespace AspNetWebSockets;

/// <summary>
/// An open WebSocket connection, in the vocabulary of the browser's <c>WebSocket</c>: <see cref="Protocol"/>,
/// <see cref="Extensions"/>, <see cref="ReadyState"/>, <see cref="BufferedAmount"/>, and <see cref="Closed"/>
/// with the close code, reason and whether the close was clean.
/// </summary>
/// <remarks>
/// Receive with <see cref="ReadAllAsync"/> (one message per iteration, pooled), <see cref="ReceiveAsync(CancellationToken)"/>
/// (one whole message), or <see cref="ReceiveAsync(Memory{byte}, CancellationToken)"/> (a piece at a time, for messages
/// too large to hold). Only one receive may be pending at a time. Sends are thread-safe: whole messages never interleave,
/// and pings, pongs and close frames may go between the fragments of a streamed message. The peer's pings are answered
/// automatically: by the receive loop while the application reads, and otherwise on the shared heartbeat tick when they
/// are at the head of the input (a ping behind an unread data message waits for the application to read it);
/// keep-alive pings are sent and the peer's liveness checked whether or not the application is reading.
/// </remarks>
public sealed partial class WebSocketConnection : IAsyncDisposable
{
    // Every field of the driver is declared here; the partial files hold behaviour only.
    private static readonly ValueWebSocketReceiveResult CloseResult = new(0, WebSocketMessageType.Close, endOfMessage: true);

    // What this driver drives, and over what.
    private readonly WebSocketProtocol _protocol;
    private readonly WebSocketTransport _transport;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly WebSocketConnectionSettings _settings;
    private readonly ILogger _logger;
    private readonly Diagnostics.WebSocketMetrics? _metrics;

    // How it ended, for the application.
    private readonly TaskCompletionSource<WebSocketCloseInfo> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _closedToken = new();
    private readonly long _openedAt = Environment.TickCount64;
    private Task _transportCompleted = Task.CompletedTask;
    private bool _failed;
    private WebSocket? _webSocket;

    // Receive: who holds the input (ReceiveIdle, ReceiveByApplication, ReceiveByPeek), and the event the synchronous
    // receive decoded but left for the receive loop to act on (NeedMoreData means none; a control frame's payload stays
    // in the protocol object until the next decode).
    private int _receiving;
    private ProtocolEvent _pendingEvent;

    // Bytes of the message being streamed through ReceiveAsync(Memory<byte>) so far, for the rate limits.
    private long _streamedLength;

    // Send: two locks in one state word (see SendLocks): the message lock is held for a whole data message (all fragments
    // of a streamed one) so messages never interleave; the write lock is held while one frame is written and flushed.
    // Control frames take only the write lock, so they can slip between the fragments of a streamed message.
    private readonly SendLocks _sendLocks = new();
    private long _bufferedAmount;

    // Corking (see Cork): the managed thread id inside the open cork (0: none); 1 while corked sends wait for the cork's
    // flush; the continuation of the read awaited through the cork, and the delegate that runs it corked (made once).
    private int _corkThread;
    private int _flushPending;
    private Action? _corkedContinuation;
    private Action? _runCorked;

    // Keep-alive: when bytes last arrived and when our last ping left; 1 while a pong sent by the control reader has not
    // been handed to the transport yet.
    private long _lastReceived;
    private long _pingSentAt;
    private int _idlePongInFlight;

    // Round-trip time: the timestamp carried by the latest ping we sent (0 once its pong has come back), the latest
    // measured round trip in Stopwatch ticks (-1 before the first), and the PingAsync callers' shared wait (null when
    // nobody waits).
    private long _outstandingPingStamp;
    private long _roundTripTicks = -1;
    private TaskCompletionSource<TimeSpan>? _pingWaiter;

    internal WebSocketConnection(WebSocketTransport transport, WebSocketConnectionSettings settings)
    {
        _transport = transport;
        _input = transport.Input;
        _output = transport.Output;
        _settings = settings;
        _logger = settings.Logger;
        _protocol = new WebSocketProtocol(settings.Role, settings.Limits, settings.Extension, settings.ExtensionBits);
        _lastReceived = _openedAt;
        _metrics = settings.Metrics;
        _metrics?.ConnectionOpened();
        settings.Heartbeat?.Register(this);
    }

    /// <summary>The subprotocol the server selected (<c>Sec-WebSocket-Protocol</c>), or an empty string.</summary>
    public string Protocol => _settings.SubProtocol ?? string.Empty;

    /// <summary>The negotiated extensions as sent in <c>Sec-WebSocket-Extensions</c>, or an empty string.</summary>
    public string Extensions => _settings.Extensions;

    /// <summary>The connection's state.</summary>
    public WebSocketReadyState ReadyState => _protocol.State;

    /// <summary>Bytes of payload accepted by send calls that have not yet been handed to the transport.</summary>
    public long BufferedAmount => Interlocked.Read(ref _bufferedAmount);

    /// <summary>
    /// Completes when the connection is closed, with the code, reason and whether the close handshake completed; by then
    /// every callback registered on <see cref="ConnectionClosed"/> has run (the connection has left its groups).
    /// </summary>
    public Task<WebSocketCloseInfo> Closed => _closed.Task;

    /// <summary>
    /// Cancelled when the connection closes for any reason (close handshake, failure, abort, server shutdown), just
    /// before <see cref="Closed"/> completes. In a callback registered on it, await <see cref="Closed"/> rather than
    /// blocking on its result: it completes only after the callbacks return.
    /// </summary>
    public CancellationToken ConnectionClosed => _closedToken.Token;

    /// <summary>An identifier for logs (the HTTP connection id on the server).</summary>
    public string ConnectionId => _settings.ConnectionId;

    internal WebSocketRole Role => _protocol.Role;

    /// <summary>What this connection runs over (for tests and diagnostics).</summary>
    internal WebSocketTransport Transport => _transport;

    /// <summary>The protocol object this connection drives.</summary>
    internal WebSocketProtocol Engine => _protocol;

    /// <summary>When the connection opened, in <see cref="Environment.TickCount64"/> milliseconds (for the lifetime limit).</summary>
    internal long OpenedAt => _openedAt;

    /// <summary>The <see cref="WebSocket"/> view of this connection, once the compatibility layer made one (see <c>AsWebSocket</c>).</summary>
    internal WebSocket? WebSocketView
    {
        get => _webSocket;
        set => _webSocket = value;
    }

    /// <summary>Closes the connection at once, without a close handshake. <see cref="Closed"/> reports 1006.</summary>
    public void Abort() => Terminate(new WebSocketCloseInfo(WebSocketCloseCode.AbnormalClosure, string.Empty, WasClean: false), graceful: false);

    /// <summary>Closes with 1000 if still open (waiting at most the close timeout for the peer), then releases the connection.</summary>
    /// <returns>A task that completes when the connection is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (ReadyState != WebSocketReadyState.Closed)
        {
            try
            {
                await CloseAsync(WebSocketCloseCode.NormalClosure, null, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException or InvalidOperationException)
            {
                Abort();
            }
        }

        Abort();
    }

    /// <summary>
    /// Moves to Closed exactly once: records how the connection ended, stops keep-alive, signals
    /// <see cref="ConnectionClosed"/>, and ends the transport (gracefully after a close handshake, abruptly otherwise).
    /// </summary>
    private void Terminate(WebSocketCloseInfo info, bool graceful)
    {
        if (!_protocol.TryEnterClosed())
        {
            return;
        }

        _settings.Heartbeat?.Unregister(this);
        _protocol.Dispose(); // releases the extension's native memory; safe against a compress in flight on another thread
        if (graceful)
        {
            if (Volatile.Read(ref _flushPending) != 0)
            {
                FlushCorked(); // a corked close frame goes out before the transport is completed
            }

            _transportCompleted = CompleteTransportAsync();
        }
        else
        {
            _transport.Abort();
            try
            {
                _input.CancelPendingRead(); // wakes a pending receive so it reports the close
            }
            catch (InvalidOperationException)
            {
                // The reader was already completed by the transport.
            }
        }

        long durationMs = Environment.TickCount64 - _openedAt;
        Log.ConnectionClosed(_logger, ConnectionId, info.Code, info.Reason, info.WasClean, durationMs);
        _metrics?.ConnectionClosed(info, TimeSpan.FromMilliseconds(durationMs));

        // The token first: its callbacks (group memberships, the request's RequestAborted) have all run by the time
        // Closed completes, so code that awaits Closed sees the connection gone everywhere.
        try
        {
            _closedToken.Cancel();
        }
        catch (AggregateException e)
        {
            // A callback registered by the application threw; the connection is closed regardless.
            Log.TransportFailed(_logger, ConnectionId, e);
        }

        _closed.TrySetResult(info);
    }

    /// <summary>
    /// Completes when the transport has been released: after a failure that includes a bounded linger (see
    /// <see cref="DrainAfterFailureAsync"/>). The server waits for it before letting the request end.
    /// </summary>
    internal Task TransportCompleted => _transportCompleted;

    private async Task CompleteTransportAsync()
    {
        try
        {
            if (_failed)
            {
                await DrainAfterFailureAsync().ConfigureAwait(false);
            }

            await _transport.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            if (!_protocol.CloseReceived) // see TransportFailed: after the peer's close frame, a vanished peer is no fault
            {
                Log.TransportFailed(_logger, ConnectionId, e);
            }

            _transport.Abort();
        }
    }

    private WebSocketException TransportFailed(Exception e)
    {
        // A peer that sends its close frame and then drops the TCP connection without waiting for our echo (a browser
        // closing a tab does) has closed cleanly (RFC 6455 §7.1.4), and a failure after the connection ended changes
        // nothing: logging those exceptions beside "clean: True" would read as a fault.
        if (!_protocol.CloseReceived && ReadyState != WebSocketReadyState.Closed)
        {
            Log.TransportFailed(_logger, ConnectionId, e);
        }

        // If the peer's close frame already arrived, its code is how the connection ended (RFC 6455 §7.1.5), even if
        // our echo could not be written because the peer closed the TCP connection first.
        Terminate(_protocol.PeerClose ?? new WebSocketCloseInfo(WebSocketCloseCode.AbnormalClosure, string.Empty, WasClean: false), graceful: false);
        return new WebSocketException(WebSocketError.ConnectionClosedPrematurely, "The connection was closed by the peer without a close handshake.", e);
    }
}
