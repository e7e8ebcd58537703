using AspNetWebSockets.Handshake;

namespace AspNetWebSockets.Extensions;

/// <summary>Runs the registered extensions over a client's offers (RFC 6455 §9.1).</summary>
internal static class ExtensionNegotiation
{
    /// <summary>
    /// Lets each extension, in order, pick from the offers that carry its name; the first that accepts is the
    /// connection's (extensions do not stack). Unknown extensions are ignored.
    /// </summary>
    /// <returns>The response header value and the accepted session, or <see cref="NegotiatedExtensions.None"/>.</returns>
    public static NegotiatedExtensions Negotiate(IReadOnlyList<ExtensionOffer> offers, IReadOnlyList<IWebSocketExtension> extensions)
    {
        if (offers.Count == 0 || extensions.Count == 0)
        {
            return NegotiatedExtensions.None;
        }

        foreach (IWebSocketExtension extension in extensions)
        {
            var mine = new List<ExtensionOffer>();
            foreach (ExtensionOffer offer in offers)
            {
                if (string.Equals(offer.Name, extension.Name, StringComparison.OrdinalIgnoreCase))
                {
                    mine.Add(offer);
                }
            }

            if (mine.Count > 0 && extension.TryNegotiate(mine, out string? response, out IWebSocketExtensionSession? session))
            {
                return new NegotiatedExtensions(response, session, extension.ReservedBits);
            }
        }

        return NegotiatedExtensions.None;
    }
}

/// <summary>The outcome of extension negotiation for one connection.</summary>
/// <param name="Header">The <c>Sec-WebSocket-Extensions</c> response value; empty for none.</param>
/// <param name="Session">The accepted extension's session, or null.</param>
/// <param name="ReservedBits">RSV bits the session's messages carry.</param>
internal sealed record NegotiatedExtensions(string Header, IWebSocketExtensionSession? Session, byte ReservedBits)
{
    public static readonly NegotiatedExtensions None = new(string.Empty, null, 0);
}
