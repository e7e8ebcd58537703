using System.Buffers;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets;

public sealed partial class WebSocketConnection
{
    /// <summary>
    /// Acts on the control frame the decoder just completed: answers pings, notes pongs, and runs the peer's
    /// side of the close handshake. Returns true when the connection is now closed.
    /// </summary>
    private async ValueTask<bool> HandleControlFrameAsync()
    {
        switch (_decoder.ControlOpcode)
        {
            case WebSocketOpcode.Pong:
                // Any inbound byte already counts as liveness; nothing else to do.
                return false;

            case WebSocketOpcode.Ping:
            {
                // The decoder's buffer is reused by the next decode, so copy the payload out before awaiting.
                int length = _decoder.ControlPayload.Length;
                byte[] payload = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
                _decoder.ControlPayload.CopyTo(payload);
                try
                {
                    if (ReadyState == WebSocketReadyState.Open)
                    {
                        await SendControlFrameAsync(WebSocketOpcode.Pong, payload.AsMemory(0, length), CancellationToken.None).ConfigureAwait(false);
                    }
                }
                catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or InvalidOperationException)
                {
                    // The connection failed while answering; the next read reports the close.
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(payload);
                }

                return ReadyState == WebSocketReadyState.Closed;
            }

            default:
                CloseFrame.TryParse(_decoder.ControlPayload, out int code, out string reason);
                await OnCloseReceivedAsync(code, reason).ConfigureAwait(false);
                return true;
        }
    }
}
