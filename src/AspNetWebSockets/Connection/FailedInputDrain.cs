using System.IO.Pipelines;

namespace AspNetWebSockets;

/// <summary>
/// After a connection was failed, reads and discards what the peer is still sending — the rest of an oversized frame,
/// its close echo — until it closes, falls quiet for a moment, or the close timeout passes. Closing with unread bytes
/// would make the kernel send a reset, and the peer would lose our close frame and its code. Nothing read is parsed or
/// kept, so this costs no memory however much the peer sends. Its own type: it is transport hygiene, not protocol.
/// </summary>
internal static class FailedInputDrain
{
    /// <summary>Drains <paramref name="input"/> for at most <paramref name="closeTimeout"/>, stopping after 250 ms of quiet.</summary>
    public static async Task DrainAsync(PipeReader input, TimeSpan closeTimeout)
    {
        TimeSpan quiet = TimeSpan.FromMilliseconds(Math.Min(250, closeTimeout.TotalMilliseconds));
        long deadline = Environment.TickCount64 + (long)closeTimeout.TotalMilliseconds;
        using var timer = new CancellationTokenSource();
        try
        {
            while (Environment.TickCount64 < deadline)
            {
                timer.CancelAfter(quiet);
                ReadResult read = await input.ReadAsync(timer.Token).ConfigureAwait(false);
                input.AdvanceTo(read.Buffer.End);
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
