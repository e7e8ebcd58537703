using AspNetWebSockets.Authentication;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Per-endpoint authentication settings for <c>MapWebSocket</c> endpoints.</summary>
public static class WebSocketAuthenticationConventionBuilderExtensions
{
    /// <summary>
    /// Closes each connection with 1008 (policy violation) and the reason <c>authentication expired</c> when the identity
    /// that opened it expires: the authentication ticket's <c>ExpiresUtc</c> (JwtBearer sets it from the token's
    /// <c>exp</c>; cookie auth from the cookie's expiry), else the principal's <c>exp</c> claim. An identity already expired
    /// at the upgrade is closed at once; one with no expiry is never closed for it. Off by default, as SignalR's
    /// <c>CloseOnAuthenticationExpiration</c>.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">The endpoint.</param>
    /// <param name="enabled">False turns it off for this endpoint.</param>
    /// <returns>The builder, for chaining.</returns>
    public static TBuilder CloseOnAuthenticationExpiration<TBuilder>(this TBuilder builder, bool enabled = true)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.Add(b => b.Metadata.Add(new CloseOnAuthenticationExpirationMetadata(enabled)));
        return builder;
    }
}
