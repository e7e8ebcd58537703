namespace AspNetWebSockets;

/// <summary>
/// How a connection ended, as the browser's <c>CloseEvent</c> reports it: <see cref="WebSocketCloseCode.NoStatusReceived"/> (1005)
/// when the peer's close frame had no code, <see cref="WebSocketCloseCode.AbnormalClosure"/> (1006) when the connection dropped
/// without a completed close handshake.
/// </summary>
/// <param name="Code">The close code.</param>
/// <param name="Reason">The close reason (empty if none).</param>
/// <param name="WasClean">True when both close frames were exchanged.</param>
public readonly record struct WebSocketCloseInfo(int Code, string Reason, bool WasClean);
