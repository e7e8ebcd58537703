using AspNetWebSockets.Handshake;

namespace AspNetWebSockets.Extensions;

/// <summary>
/// Negotiates one WebSocket extension (RFC 6455 §9) from the client's offers. permessage-deflate (RFC 7692)
/// plugs in here; with no factories registered the server simply answers without <c>Sec-WebSocket-Extensions</c>.
/// </summary>
internal interface IWebSocketExtensionFactory
{
    /// <summary>The extension token, e.g. <c>permessage-deflate</c>.</summary>
    string Name { get; }

    /// <summary>
    /// Considers the client's offers for <see cref="Name"/> in the client's order and accepts the first acceptable
    /// one. Returns false to decline them all (RFC 7692 §5: decline, don't fail, on parameters it cannot honour).
    /// </summary>
    bool TryNegotiate(IReadOnlyList<ExtensionOffer> offers, out WebSocketExtensionAgreement agreement);
}

/// <summary>What an extension agreed to: the response element, the reserved bits its frames may carry, and its parameters.</summary>
/// <param name="ResponseElement">The element for the response header, e.g. <c>permessage-deflate; server_no_context_takeover</c>.</param>
/// <param name="ReservedBits">RSV bits (0x40, 0x20, 0x10) the extension uses.</param>
/// <param name="Parameters">The extension's own record of what was agreed, for the connection to act on.</param>
internal readonly record struct WebSocketExtensionAgreement(string ResponseElement, byte ReservedBits, object? Parameters = null);
