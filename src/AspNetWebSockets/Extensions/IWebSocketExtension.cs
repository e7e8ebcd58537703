using AspNetWebSockets.Handshake;

namespace AspNetWebSockets.Extensions;

/// <summary>
/// A WebSocket extension (RFC 6455 §9): negotiates the client's offers into a response element and, when accepted, a
/// per-connection <see cref="IWebSocketExtensionSession"/> that transforms messages on receive and on send.
/// permessage-deflate (RFC 7692) is one implementation. Register others in DI as <c>IWebSocketExtension</c>; they are
/// negotiated on every endpoint, after permessage-deflate where that is enabled.
/// </summary>
/// <remarks>
/// Extensions do not stack: a connection accepts the first extension, in registration order, that accepts an offer,
/// and answers without the others. An extension that needs no reserved bit and no transform should not be written as
/// one: a subprotocol is the right tool.
/// </remarks>
public interface IWebSocketExtension
{
    /// <summary>The extension token, e.g. <c>permessage-deflate</c>; offers are matched to it case-insensitively.</summary>
    string Name { get; }

    /// <summary>The RSV bits (0x40, 0x20, 0x10) the first frame of a transformed message carries; at least one.</summary>
    byte ReservedBits { get; }

    /// <summary>
    /// Considers the client's offers for <see cref="Name"/>, in the client's order, and accepts the first acceptable one.
    /// Declines (returns false) rather than failing when no offer's parameters can be honoured (RFC 7692 §5).
    /// </summary>
    /// <param name="offers">The offers naming this extension, in header order; never empty.</param>
    /// <param name="responseElement">The element for the response's <c>Sec-WebSocket-Extensions</c>, e.g. <c>permessage-deflate; server_no_context_takeover</c>.</param>
    /// <param name="session">The connection's transform, owned (and disposed) by the connection from here on.</param>
    /// <returns>Whether an offer was accepted.</returns>
    bool TryNegotiate(
        IReadOnlyList<ExtensionOffer> offers,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? responseElement,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IWebSocketExtensionSession? session);
}
