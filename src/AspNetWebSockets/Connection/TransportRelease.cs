using System.IO.Pipelines;
using AspNetWebSockets.Protocol;
using AspNetWebSockets.Transport;
using Microsoft.Extensions.Logging;

namespace AspNetWebSockets;

/// <summary>
/// How a connection lets go of its transport once it has ended: gracefully after a close handshake — after a failure,
/// first draining what the peer still sends — or abruptly, waking a pending read. Its own type so the transport's end
/// has one place; static, so a live connection pays nothing for it.
/// </summary>
internal static class TransportRelease
{
    /// <summary>Ends the transport at once, and wakes a pending receive on <paramref name="input"/> so it reports the close.</summary>
    public static void Abort(IWebSocketTransport transport, PipeReader input)
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

    /// <summary>
    /// Ends the transport gracefully; after a failure (<paramref name="drainFirst"/>) it drains the input first. Completes
    /// when the transport has been released. A failure is logged unless the peer's close frame arrived (after it, a
    /// vanished peer is no fault, RFC 6455 §7.1.4).
    /// </summary>
    public static async Task CompleteAsync(IWebSocketTransport transport, PipeReader input, bool drainFirst, WebSocketProtocol protocol, ILogger logger, string connectionId, TimeSpan closeTimeout)
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
            if (!protocol.CloseReceived)
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
