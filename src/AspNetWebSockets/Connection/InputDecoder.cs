using System.Buffers;
using System.IO.Pipelines;
using AspNetWebSockets.Diagnostics;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets;

/// <summary>
/// Decodes a connection's input through its protocol object, without waiting: one step for the receive loop
/// (<see cref="Decode"/>), or — the synchronous part of a whole-message receive — what is already in the input, frame
/// after frame, until a message is complete or the input runs out, with one pipe read and one advance
/// (<see cref="TryReceive"/>). With many messages in flight that is nearly every message, and it costs no async state
/// machine; a control frame or a violation stops it and is left for the receive loop, which answers it. Connections with
/// an extension take the general path (payload is staged for the extension). Its own type: the connection's receive loop
/// is the only code that waits for input. A readonly struct of references (stateless itself), so a connection holds it
/// inline rather than as one more object.
/// </summary>
internal readonly struct InputDecoder(PipeReader input, WebSocketProtocol protocol, WebSocketMetrics? metrics)
{
    /// <summary>The input decoded (the connection's only reference to it).</summary>
    public PipeReader Input => input;

    /// <summary>The protocol object that decodes it (the connection's only reference to it).</summary>
    public WebSocketProtocol Protocol => protocol;

    /// <summary>What a buffered receive got done.</summary>
    public enum Progress : byte
    {
        /// <summary>Nothing was read; the message is untouched.</summary>
        NotStarted,

        /// <summary>As <see cref="NotStarted"/>, and the input was empty: the caller may wait at once.</summary>
        NoInput,

        /// <summary>Input was consumed (part of the message, or a control frame or violation left for the receive loop); the receive loop continues.</summary>
        Partial,

        /// <summary>A whole message is in the caller's message.</summary>
        Complete,
    }

    /// <summary>
    /// One receive-loop step over <paramref name="read"/> (made by the caller, advanced here — examined to its end when the
    /// protocol needs more): payload into <paramref name="destination"/>, or a control frame, a violation, or nothing yet.
    /// Arriving bytes are recorded in <paramref name="keepAlive"/>.
    /// </summary>
    public ProtocolEvent Decode(in ReadResult read, Span<byte> destination, ref KeepAliveClock keepAlive, out int written, out bool endOfMessage)
    {
        ReadOnlySequence<byte> data = read.Buffer;
        if (!data.IsEmpty)
        {
            keepAlive.Received();
        }

        var reader = new SequenceReader<byte>(data);
        ProtocolEvent received = protocol.Receive(ref reader, destination, out written, out endOfMessage);
        input.AdvanceTo(reader.Position, received == ProtocolEvent.NeedMoreData ? data.End : reader.Position);
        return received;
    }

    /// <summary>Whether buffered decoding applies: not with an extension, nor after the close.</summary>
    public bool CanDecode => protocol.DecodesInPlace && !protocol.CloseReceived && protocol.State != WebSocketReadyState.Closed;

    /// <summary>Decodes from what the input holds right now, without waiting; see <see cref="Receive"/>.</summary>
    public Progress TryReceive(WebSocketMessage message, ref KeepAliveClock keepAlive, ref ProtocolEvent leftForReceiveLoop)
    {
        if (!CanDecode)
        {
            return Progress.NotStarted;
        }

        ReadResult read;
        try
        {
            if (!input.TryRead(out read))
            {
                return Progress.NoInput;
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return Progress.NotStarted; // the receive loop reads again and reports the failure
        }

        return Receive(message, read, ref keepAlive, ref leftForReceiveLoop);
    }

    /// <summary>
    /// Decodes <paramref name="read"/> (made by the caller, advanced here) into <paramref name="message"/>. A control frame
    /// or a violation is left in <paramref name="leftForReceiveLoop"/>.
    /// </summary>
    public Progress Receive(WebSocketMessage message, in ReadResult read, ref KeepAliveClock keepAlive, ref ProtocolEvent leftForReceiveLoop)
    {
        ReadOnlySequence<byte> data = read.Buffer;
        if (data.IsEmpty || read.IsCanceled)
        {
            input.AdvanceTo(data.Start);
            return Progress.NotStarted;
        }

        keepAlive.Received();
        message.Reset();
        var reader = new SequenceReader<byte>(data);
        long maxMessageSize = protocol.Limits.MaxMessageSize;
        while (true)
        {
            Memory<byte> free = message.GetFreeMemory(maxMessageSize, message.IsFull ? protocol.BufferedPayload(reader) : 0);
            if (free.IsEmpty)
            {
                input.AdvanceTo(reader.Position);
                return Progress.Partial; // the receive loop fails it with 1009
            }

            ProtocolEvent received = protocol.Receive(ref reader, free.Span, out int written, out bool endOfMessage);
            if (received == ProtocolEvent.Data)
            {
                message.Type = protocol.MessageType;
                message.Advance(written);
                metrics?.Received(written, endOfMessage);
                if (endOfMessage)
                {
                    input.AdvanceTo(reader.Position);
                    return Progress.Complete;
                }

                continue;
            }

            if (received == ProtocolEvent.NeedMoreData)
            {
                input.AdvanceTo(reader.Position, data.End);
            }
            else
            {
                input.AdvanceTo(reader.Position);
                leftForReceiveLoop = received;
            }

            return Progress.Partial;
        }
    }

    /// <summary>Whether bytes are waiting in the input right now (peeked without consuming), or the receive loop has work without new input.</summary>
    public bool InputAvailable()
    {
        if (protocol.HasPendingOutput || protocol.State == WebSocketReadyState.Closed || protocol.CloseReceived)
        {
            return true;
        }

        try
        {
            if (!input.TryRead(out ReadResult read))
            {
                return false;
            }

            input.AdvanceTo(read.Buffer.Start);
            return !read.Buffer.IsEmpty || read.IsCompleted;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return true; // let the receive loop observe the failure
        }
    }
}
