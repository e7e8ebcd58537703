using System.Buffers;
using System.IO.Pipelines;
using AspNetWebSockets.Diagnostics;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets;

/// <summary>
/// The heartbeat's look at a connection's input while the application is not reading. Bytes from a live peer pile up
/// unread in the input pipe, and unread bytes suspend the timeout — this is what lets keep-alive work without a pending
/// receive. Control frames at the head of the input are consumed here (the protocol decides which:
/// <see cref="WebSocketProtocol.ReceiveControlFrame"/>), so a handler that only sends still answers the peer's pings and
/// sees its close; a data frame stops that and stays for the application (reading it is the application's choice — that
/// is backpressure), and an invalid frame for the receive loop, which fails the connection with the right code. Never
/// waits; what the connection must send as a result (a pong, the close echo) is sent outside the receive slot, because
/// an application receive that starts meanwhile spins on it.
/// </summary>
/// <remarks>
/// <para>
/// Driven by the shared heartbeat tick rather than by a read awaited whenever the application stops reading: an awaited
/// read would hold a suspended read (and its state) for every connection whose handler is busy or idle, need a
/// cancel-and-hand-over protocol with the application's next receive (racing <c>CancelPendingRead</c> against the pipe),
/// and start on every receive exit of the echo hot path. The tick costs one non-blocking <c>TryRead</c> per connection and
/// bounds the answer's latency by the tick period (at most 1 s; a quarter of the keep-alive interval or timeout when
/// those are shorter), well inside the ping timeouts of clients and proxies.
/// </para>
/// <para>
/// A mutable struct held inline by the connection, like <see cref="KeepAliveClock"/>: as an object of its own it cost 64
/// bytes per connection (a header and four references to the connection's parts besides its state), so the connection
/// passes those parts in. Keep it in a non-readonly field and pass it by reference, never copy it.
/// </para>
/// </remarks>
internal struct IdleInputReader
{
    // The payload of the pong that answers the latest ping consumed here (made on the first one), and 1 while that pong
    // has not been handed to the transport yet.
    private byte[]? _pong;
    private int _pongLength;
    private int _pongInFlight;

    /// <summary>What a peek found.</summary>
    public enum Outcome : byte
    {
        /// <summary>Nothing to act on.</summary>
        Nothing,

        /// <summary>Pings were consumed: answer the latest with <see cref="Pong"/>, then call <see cref="PongSent"/>.</summary>
        Ping,

        /// <summary>The peer's close frame was consumed (the protocol recorded it): run the peer's side of the close handshake.</summary>
        Close,

        /// <summary>The peer has gone: end of stream with nothing left unread, or a transport error.</summary>
        PeerGone,
    }

    /// <summary>After <see cref="Outcome.Ping"/>: the payload of the pong that answers the latest ping consumed.</summary>
    public readonly ReadOnlyMemory<byte> Pong => _pong.AsMemory(0, _pongLength);

    /// <summary>
    /// The answer to <see cref="Outcome.Ping"/> has gone (or could not, or the connection was no longer open): the next
    /// peek may consume pings again.
    /// </summary>
    public void PongSent() => Volatile.Write(ref _pongInFlight, 0);

    /// <summary>
    /// Peeks at the input if no receive holds the connection's <paramref name="slot"/>. <paramref name="leftForReceiveLoop"/>
    /// is the event the last receive decoded but left for the receive loop, read once the slot is held; if there is one,
    /// nothing is consumed. Arriving bytes are recorded in <paramref name="keepAlive"/>; pongs in <paramref name="roundTrip"/>.
    /// </summary>
    public Outcome Peek(PipeReader input, WebSocketProtocol protocol, ref RoundTripClock roundTrip, WebSocketMetrics? metrics, ref ReceiveSlot slot, ref KeepAliveClock keepAlive, ref readonly ProtocolEvent leftForReceiveLoop)
    {
        if (!slot.TryEnterPeek())
        {
            return Outcome.Nothing; // a receive is in flight and records arrivals and the end of stream itself
        }

        try
        {
            if (!input.TryRead(out ReadResult read))
            {
                return Outcome.Nothing;
            }

            ReadOnlySequence<byte> data = read.Buffer;
            Outcome outcome = Outcome.Nothing;
            SequencePosition consumed = data.Start;
            if (!data.IsEmpty && !read.IsCanceled && leftForReceiveLoop == ProtocolEvent.NeedMoreData)
            {
                consumed = ConsumeControlFrames(data, protocol, ref roundTrip, metrics, out outcome);
            }

            input.AdvanceTo(consumed); // examine nothing, so the next receive (or tick) sees the rest at once
            if (!data.IsEmpty)
            {
                // Growth proves life. Unread bytes that do not grow prove nothing either way: a pong may be queued
                // behind them (or held back by a full input buffer), so the backlog is ours, not the peer's silence.
                keepAlive.Received();
            }

            // Unread messages before the end stay readable: the application decides when to read them.
            return outcome != Outcome.Close && read.IsCompleted && data.Slice(consumed).IsEmpty ? Outcome.PeerGone : outcome;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return Outcome.PeerGone; // the transport failed (reset) or was completed under us
        }
        finally
        {
            slot.Exit();
        }
    }

    /// <summary>
    /// Lets the protocol consume the complete control frames at the head of <paramref name="data"/>: pongs are liveness
    /// and may measure the round trip, the most recent ping is kept for an answer (RFC 6455 §5.5.3 allows skipping older
    /// ones), and a close ends it (a ping before the close needs no answer). Returns how far input was consumed.
    /// </summary>
    private SequencePosition ConsumeControlFrames(ReadOnlySequence<byte> data, WebSocketProtocol protocol, ref RoundTripClock roundTrip, WebSocketMetrics? metrics, out Outcome outcome)
    {
        outcome = Outcome.Nothing;

        // While an earlier pong still waits for the transport (a peer that pings but does not read), take nothing more:
        // its pings then stay in the input and TCP pushes back on it, instead of one pending pong piling up per tick.
        if (Volatile.Read(ref _pongInFlight) != 0)
        {
            return data.Start;
        }

        var reader = new SequenceReader<byte>(data);
        while (true)
        {
            switch (protocol.ReceiveControlFrame(ref reader))
            {
                case ProtocolEvent.Ping:
                    protocol.ControlPayload.CopyTo(_pong ??= new byte[125]);
                    _pongLength = protocol.ControlPayload.Length;
                    outcome = Outcome.Ping;
                    continue;

                case ProtocolEvent.Pong:
                    roundTrip.OnPong(protocol.ControlPayload, metrics);
                    continue;

                case ProtocolEvent.Close:
                    outcome = Outcome.Close;
                    return reader.Position;

                default:
                    if (outcome == Outcome.Ping)
                    {
                        Volatile.Write(ref _pongInFlight, 1);
                    }

                    return reader.Position;
            }
        }
    }
}
