using AspNetWebSockets.Broadcast;
using Microsoft.AspNetCore.Http;

namespace AspNetWebSockets.Hosting;

/// <summary>Makes every new connection addressable by id and by its user (<see cref="IWebSocketSender"/>) and present (<see cref="IWebSocketPresence"/>).</summary>
internal sealed class AddressingConnectionListener(WebSocketConnectionRegistry registry) : IWebSocketConnectionListener
{
    public void OnConnected(WebSocketConnection connection, HttpContext context) => registry.Track(connection, context.User);
}
