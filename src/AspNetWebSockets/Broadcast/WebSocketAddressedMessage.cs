using System.Net.WebSockets;

namespace AspNetWebSockets;

/// <summary>A message from <see cref="IWebSocketSender"/> as it travels between nodes through <see cref="IWebSocketBackplane"/>.</summary>
/// <param name="Target">Who it is for.</param>
/// <param name="MessageType">Text or binary.</param>
/// <param name="Payload">The message.</param>
public sealed record WebSocketAddressedMessage(WebSocketTarget Target, WebSocketMessageType MessageType, ReadOnlyMemory<byte> Payload);
