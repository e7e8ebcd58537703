using AspNetWebSockets.Handshake;

namespace AspNetWebSockets.Extensions;

/// <summary>Runs the registered extension factories over a client's offers (RFC 6455 §9.1).</summary>
internal static class ExtensionNegotiation
{
    /// <summary>
    /// Lets each factory pick from the offers that carry its name. Unknown extensions are ignored, and two
    /// extensions may not claim the same reserved bit (the later one is declined).
    /// </summary>
    /// <returns>The <c>Sec-WebSocket-Extensions</c> response value (empty for none), the reserved bits now allowed, and each agreement.</returns>
    public static NegotiatedExtensions Negotiate(IReadOnlyList<ExtensionOffer> offers, IReadOnlyList<IWebSocketExtensionFactory> factories)
    {
        if (offers.Count == 0 || factories.Count == 0)
        {
            return NegotiatedExtensions.None;
        }

        string header = string.Empty;
        byte reservedBits = 0;
        var agreements = new List<WebSocketExtensionAgreement>();
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
                agreements.Add(agreement);
            }
        }

        return new NegotiatedExtensions(header, reservedBits, agreements);
    }
}

/// <summary>The outcome of extension negotiation for one connection.</summary>
/// <param name="Header">The <c>Sec-WebSocket-Extensions</c> response value; empty for none.</param>
/// <param name="ReservedBits">RSV bits the peer may set.</param>
/// <param name="Agreements">Each accepted extension, in header order.</param>
internal sealed record NegotiatedExtensions(string Header, byte ReservedBits, IReadOnlyList<WebSocketExtensionAgreement> Agreements)
{
    public static readonly NegotiatedExtensions None = new(string.Empty, 0, []);

    /// <summary>The parameters of the accepted extension of type <typeparamref name="T"/>, if any.</summary>
    public T? Find<T>()
        where T : class
    {
        foreach (WebSocketExtensionAgreement agreement in Agreements)
        {
            if (agreement.Parameters is T parameters)
            {
                return parameters;
            }
        }

        return null;
    }
}
