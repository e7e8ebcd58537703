using AspNetWebSockets.Handshake;

namespace AspNetWebSockets.Extensions;

/// <summary>Runs the registered extension factories over a client's offers (RFC 6455 §9.1).</summary>
internal static class ExtensionNegotiation
{
    /// <summary>
    /// Lets each factory pick from the offers that carry its name. Unknown extensions are ignored, and two
    /// extensions may not claim the same reserved bit (the later one is declined).
    /// </summary>
    /// <returns>The <c>Sec-WebSocket-Extensions</c> response value (empty for none) and the reserved bits now allowed.</returns>
    public static (string Header, byte ReservedBits) Negotiate(IReadOnlyList<ExtensionOffer> offers, IReadOnlyList<IWebSocketExtensionFactory> factories)
    {
        if (offers.Count == 0 || factories.Count == 0)
        {
            return (string.Empty, 0);
        }

        string header = string.Empty;
        byte reservedBits = 0;
        foreach (IWebSocketExtensionFactory factory in factories)
        {
            var mine = new List<ExtensionOffer>();
            foreach (ExtensionOffer offer in offers)
            {
                if (string.Equals(offer.Name, factory.Name, StringComparison.OrdinalIgnoreCase))
                {
                    mine.Add(offer);
                }
            }

            if (mine.Count > 0 && factory.TryNegotiate(mine, out WebSocketExtensionAgreement agreement) && (agreement.ReservedBits & reservedBits) == 0)
            {
                header = header.Length == 0 ? agreement.ResponseElement : header + ", " + agreement.ResponseElement;
                reservedBits |= agreement.ReservedBits;
            }
        }

        return (header, reservedBits);
    }
}
