namespace AspNetWebSockets.Handshake;

/// <summary>Chooses the subprotocol to answer with (RFC 6455 §4.2.2 step 5.4).</summary>
internal static class SubProtocolSelector
{
    /// <summary>
    /// Returns the first entry of <paramref name="serverPreference"/> that the client offered, or null if there is none.
    /// </summary>
    /// <remarks>
    /// The server's order wins over the client's: the endpoint author knows which version they would rather speak.
    /// Comparison is ordinal because subprotocol names are case-sensitive tokens (RFC 6455 §11.5 registers them
    /// as such), and answering with a different case than offered makes browsers fail the connection.
    /// Cost is |server| × |client|, both bounded (the client list by <see cref="HandshakeValidator.MaxListHeaderLength"/>).
    /// </remarks>
    public static string? Select(IReadOnlyList<string> serverPreference, IReadOnlyList<string> clientOffers)
    {
        if (serverPreference is null || clientOffers is null)
        {
            return null;
        }

        for (int s = 0; s < serverPreference.Count; s++)
        {
            string candidate = serverPreference[s];
            if (string.IsNullOrEmpty(candidate))
            {
                continue;
            }

            for (int c = 0; c < clientOffers.Count; c++)
            {
                if (string.Equals(candidate, clientOffers[c], StringComparison.Ordinal))
                {
                    // Return the server's instance: it is the configured, validated spelling.
                    return candidate;
                }
            }
        }

        return null;
    }
}
