namespace AspNetWebSockets.Authentication;

/// <summary>Endpoint metadata: whether connections close with 1008 when the identity that opened them expires.</summary>
internal sealed record CloseOnAuthenticationExpirationMetadata(bool Enabled);
