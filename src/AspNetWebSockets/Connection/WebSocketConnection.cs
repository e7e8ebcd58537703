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
public sealed partial class WebSocketConnection : IAsyncDisposable, ISlotSetMember
{
    // Every field of the driver is declared here; the partial files hold behaviour only.
    private static readonly ValueWebSocketReceiveResult CloseResult = new(0, WebSocketMessageType.Close, endOfMessage: true);

    // How a connection ends without a close handshake (the browser's 1006).
    private static readonly WebSocketCloseInfo AbnormalClosure = new(WebSocketCloseCode.AbnormalClosure, string.Empty, WasClean: false);

    // What this driver drives, and over what. The protocol object and the input are held by the decoder (see Engine and
    // Input below), the output by the sender: fields of their own here cost 24 bytes per connection.
    private readonly IWebSocketTransport _transport;
    // Shared by the endpoint's connections; its logger and metrics are read through it (Logger, Metrics) rather than
    // copied into fields of every connection.
    private readonly WebSocketConnectionSettings _settings;

    // What differs per connection (see PerConnectionSettings): held here rather than in a settings object of its own.
    private readonly string _connectionId;
    private readonly string? _subProtocol;
    private readonly string? _extensions;
    private readonly WebSocketConnectionRateLimit? _rateLimit;
    private readonly Diagnostics.WebSocketMessageTracer? _messageTracer;

    // How it ended: told to the application, and the transport let go of (see TransportRelease).
    private ClosedSignal _closed; // a mutable struct, made on demand: never readonly, never copied
    private Task _transportCompleted = Task.CompletedTask;
    private readonly long _openedAt = Environment.TickCount64;
    private bool _failed;

    // Receive: who holds the input (see ReceiveSlot), and the event the synchronous receive decoded but left for the
    // receive loop to act on (NeedMoreData means none; a control frame's payload stays in the protocol object until the
    // next decode).
    private ReceiveSlot _receiveSlot; // a mutable struct: never readonly, never copied
    private readonly InputDecoder _decoder;
    private ProtocolEvent _pendingEvent;

    // Send: the send side (locks, BufferedAmount, cork, flush); and, when the settings say AutoCork (event-loop mode, lean
    // connections), what runs completed reads as corked receive callbacks (unused in the default mode).
    private readonly FrameSender _sender;
    private ReceiveCallbackRunner _callbacks; // a mutable struct: never readonly, never copied

    // Heartbeat: keep-alive bookkeeping, the round trip of our pings, and the look at the input while nobody reads.
    private KeepAliveClock _keepAlive; // a mutable struct: never readonly, never copied
    private RoundTripClock _roundTrip; // a mutable struct: never readonly, never copied
    private IdleInputReader _idleInput; // a mutable struct: never readonly, never copied

    // Its slot in the heartbeat's registry of connections (ConcurrentSlotSet), which the registry keeps.
    private int _registrySlot;

    internal WebSocketConnection(IWebSocketTransport transport, WebSocketConnectionSettings settings, in PerConnectionSettings perConnection = default)
    {
        _transport = transport;
        _settings = settings;
        _connectionId = perConnection.ConnectionId ?? string.Empty;
        _subProtocol = perConnection.SubProtocol;
        _extensions = perConnection.Extensions;
        _rateLimit = perConnection.RateLimit;
        _messageTracer = perConnection.MessageTracer;
        var protocol = new WebSocketProtocol(settings.Role, settings.Limits, perConnection.Extension, perConnection.ExtensionBits);
        _keepAlive = new KeepAliveClock(_openedAt);
        _sender = new FrameSender(this, protocol, transport.Output);
        _roundTrip = new RoundTripClock();
        _decoder = new InputDecoder(transport.Input, protocol, settings.Metrics);
        settings.Metrics?.ConnectionOpened();
        settings.Heartbeat?.Register(this);
    }

    /// <summary>The protocol object (framing, state, close handshake) this connection drives, held by its decoder.</summary>
    private WebSocketProtocol Engine => _decoder.Protocol;

    /// <summary>The transport's input, held by the decoder.</summary>
    private PipeReader Input => _decoder.Input;

    /// <summary>The subprotocol the server selected (<c>Sec-WebSocket-Protocol</c>), or an empty string.</summary>
    public string Protocol => _subProtocol ?? string.Empty;

    /// <summary>The negotiated extensions as sent in <c>Sec-WebSocket-Extensions</c>, or an empty string.</summary>
    public string Extensions => _extensions ?? string.Empty;

    /// <summary>The connection's state.</summary>
    public WebSocketReadyState ReadyState => Engine.State;

    /// <summary>Bytes of payload accepted by send calls that have not yet been handed to the transport.</summary>
    public long BufferedAmount => _sender.BufferedAmount;

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
    public CancellationToken ConnectionClosed => _closed.Token;

    /// <summary>An identifier for logs (the HTTP connection id on the server).</summary>
    public string ConnectionId => _connectionId;

    /// <summary>The settings this connection shares with its endpoint's other connections (for its parts, such as the sender).</summary>
    internal WebSocketConnectionSettings Settings => _settings;

    /// <summary>What this connection runs over (for tests and diagnostics).</summary>
    internal IWebSocketTransport Transport => _transport;

    /// <summary>When the connection opened, in <see cref="Environment.TickCount64"/> milliseconds (for the lifetime limit).</summary>
    internal long OpenedAt => _openedAt;

    /// <inheritdoc/>
    int ISlotSetMember.SetSlot
    {
        get => _registrySlot;
        set => _registrySlot = value;
    }

    /// <summary>Closes the connection at once, without a close handshake. <see cref="Closed"/> reports 1006.</summary>
    public void Abort() => Terminate(AbnormalClosure, graceful: false);

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
        if (!Engine.TryEnterClosed())
        {
            return;
        }

        if (!_settings.OwnerUnregisters)
        {
            _settings.Heartbeat?.Unregister(this); // a closed connection's tick does nothing, but it need not stay listed
        }
        Engine.Dispose(); // releases the extension's native memory; safe against a compress in flight on another thread
        if (graceful)
        {
            if (_sender.CorkFlushPending)
            {
                _sender.FlushCorked(); // a corked close frame goes out before the transport is completed
            }

            _transportCompleted = TransportRelease.CompleteAsync(_transport, Input, drainFirst: _failed, Engine, Logger, ConnectionId, _settings.CloseTimeout);
        }
        else
        {
            TransportRelease.Abort(_transport, Input);
        }

        long durationMs = Environment.TickCount64 - _openedAt;
        Log.ConnectionClosed(Logger, ConnectionId, info.Code, info.Reason, info.WasClean, durationMs);
        Metrics?.ConnectionClosed(info, TimeSpan.FromMilliseconds(durationMs));

        _closed.Raise(info, Logger, ConnectionId);
    }

    /// <summary>
    /// Completes when the transport has been released: after a failure that includes a bounded linger (see
    /// <see cref="TransportRelease"/>). The server waits for it before letting the request end.
    /// </summary>
    internal Task TransportCompleted => _transportCompleted;

    /// <summary>The transport failed under a read or a flush: ends the connection, and returns the exception the caller throws.</summary>
    internal WebSocketException TransportFailed(Exception e)
    {
        // A peer that sends its close frame and then drops the TCP connection without waiting for our echo (a browser
        // closing a tab does) has closed cleanly (RFC 6455 §7.1.4), and a failure after the connection ended changes
        // nothing: logging those exceptions beside "clean: True" would read as a fault.
        if (!Engine.CloseReceived && ReadyState != WebSocketReadyState.Closed)
        {
            Log.TransportFailed(Logger, ConnectionId, e);
        }

        // If the peer's close frame already arrived, its code is how the connection ended (RFC 6455 §7.1.5), even if
        // our echo could not be written because the peer closed the TCP connection first.
        Terminate(Engine.PeerClose ?? AbnormalClosure, graceful: false);
        return new WebSocketException(WebSocketError.ConnectionClosedPrematurely, "The connection was closed by the peer without a close handshake.", e);
    }
}
