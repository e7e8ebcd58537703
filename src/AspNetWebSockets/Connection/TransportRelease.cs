using System.IO.Pipelines;
using AspNetWebSockets.Protocol;
using AspNetWebSockets.Transport;
using Microsoft.Extensions.Logging;

namespace AspNetWebSockets;

/// <summary>
/// How a connection lets go of its transport once it has ended: gracefully after a close handshake — after a failure,
/// first draining what the peer still sends — or abruptly, waking a pending read. Its own type so the transport's end
/// has one owner, and <see cref="Completed"/> one meaning for the server that waits on it.
/// </summary>
internal sealed class TransportRelease(WebSocketTransport transport, PipeReader input, WebSocketProtocol protocol, ILogger logger, string connectionId, TimeSpan closeTimeout)
{
    /// <summary>Completes when the transport has been released (after a failure, that includes the bounded drain).</summary>
    public Task Completed { get; private set; } = Task.CompletedTask;

    /// <summary>Ends the transport gracefully, in the background; after a failure (<paramref name="drainFirst"/>) it drains first.</summary>
    public void Complete(bool drainFirst) => Completed = CompleteAsync(drainFirst);

    /// <summary>Ends the transport at once, and wakes a pending receive so it reports the close.</summary>
    public void Abort()
    {
        transport.Abort();
        try
        {
            input.CancelPendingRead();
        }
        catch (InvalidOperationException)
        {
            // The reader was already completed by the transport.
        }
    }

    private async Task CompleteAsync(bool drainFirst)
    {
        try
        {
            if (drainFirst)
            {
                await DrainAsync(input, closeTimeout).ConfigureAwait(false);
            }

            await transport.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            if (!protocol.CloseReceived) // after the peer's close frame, a vanished peer is no fault (RFC 6455 §7.1.4)
            {
                Log.TransportFailed(logger, connectionId, e);
            }

            transport.Abort();
        }
    }

    /// <summary>
    /// After a connection was failed, reads and discards what the peer is still sending — the rest of an oversized frame,
    /// its close echo — until it closes, falls quiet for a moment, or the close timeout passes. Closing with unread bytes
    /// would make the kernel send a reset, and the peer would lose our close frame and its code. Nothing read is parsed or
    /// kept, so this costs no memory however much the peer sends.
    /// </summary>
    private static async Task DrainAsync(PipeReader reader, TimeSpan closeTimeout)
    {
        TimeSpan quiet = TimeSpan.FromMilliseconds(Math.Min(250, closeTimeout.TotalMilliseconds));
        long deadline = Environment.TickCount64 + (long)closeTimeout.TotalMilliseconds;
        using var timer = new CancellationTokenSource();
        try
        {
            while (Environment.TickCount64 < deadline)
            {
                timer.CancelAfter(quiet);
                ReadResult read = await reader.ReadAsync(timer.Token).ConfigureAwait(false);
                reader.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted || read.IsCanceled || !timer.TryReset())
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            // Quiet, gone, or reset: either way there is nothing more to wait for.
        }
    }
}
