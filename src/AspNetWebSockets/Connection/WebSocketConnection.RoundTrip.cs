using System.Buffers;
using System.Net.WebSockets;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets;

public sealed partial class WebSocketConnection
{
    /// <summary>
    /// The latest measured round-trip time: from sending a ping (keep-alive or <see cref="PingAsync"/>) to the peer's
    /// matching pong. Null until one has been measured.
    /// </summary>
    public TimeSpan? RoundTripTime => _roundTrip.Latest;

    /// <summary>
    /// Sends a ping and waits for the peer's matching pong; returns the round-trip time (also kept in
    /// <see cref="RoundTripTime"/> and recorded in the <c>websocket.server.rtt</c> histogram). Calls made while a ping is
    /// already awaited share it. The peer's pong arrives whether or not the application is reading (see the class remarks).
    /// </summary>
    /// <param name="cancellationToken">Stops waiting; a pong that arrives later still updates <see cref="RoundTripTime"/>.</param>
    /// <returns>The round-trip time.</returns>
    /// <exception cref="InvalidOperationException">The connection is not open.</exception>
    /// <exception cref="WebSocketException">The connection closed before the pong arrived.</exception>
    public Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default) =>
        ReadyState == WebSocketReadyState.Open
            ? PingAndWaitAsync(cancellationToken)
            : Task.FromException<TimeSpan>(new InvalidOperationException("The connection is not open."));

    private async Task<TimeSpan> PingAndWaitAsync(CancellationToken cancellationToken)
    {
        var mine = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource<TimeSpan> waiter = _roundTrip.JoinWait(mine);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, ConnectionClosed);
        try
        {
            if (waiter == mine)
            {
                await SendStampedPingAsync(stop.Token).ConfigureAwait(false);
            }

            return await waiter.Task.WaitAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new WebSocketException(WebSocketError.ConnectionClosedPrematurely, "The connection closed before the pong arrived.");
        }
        finally
        {
            _roundTrip.LeaveWait(mine);
        }
    }

    /// <summary>Sends a ping whose payload is its send time, so that the matching pong measures the round trip (see <see cref="RoundTripClock"/>).</summary>
    private async ValueTask SendStampedPingAsync(CancellationToken cancellationToken)
    {
        byte[] payload = ArrayPool<byte>.Shared.Rent(RoundTripClock.StampLength);
        try
        {
            _roundTrip.Stamp(payload);
            await _sender.SendControlAsync(WebSocketOpcode.Ping, payload.AsMemory(0, RoundTripClock.StampLength), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(payload);
        }
    }
}
