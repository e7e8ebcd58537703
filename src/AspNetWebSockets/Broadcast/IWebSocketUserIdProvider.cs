using System.Security.Claims;

namespace AspNetWebSockets;

/// <summary>
/// Decides which user a connection belongs to, for <see cref="WebSocketTarget.User"/> and presence. Replace the default
/// (<see cref="NameIdentifierUserIdProvider"/>) by registering another singleton before or after <c>AddWebSocketGroups</c>.
/// </summary>
public interface IWebSocketUserIdProvider
{
    /// <summary>The user id of the principal that opened a connection, or null when it has none (anonymous).</summary>
    /// <param name="user">The request's <c>HttpContext.User</c> at the upgrade.</param>
    /// <returns>A non-empty id, or null.</returns>
    string? GetUserId(ClaimsPrincipal user);
}

/// <summary>The default user id: the <see cref="ClaimTypes.NameIdentifier"/> claim of an authenticated principal (as SignalR does).</summary>
public sealed class NameIdentifierUserIdProvider : IWebSocketUserIdProvider
{
    /// <inheritdoc />
    public string? GetUserId(ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        string? id = user.Identity?.IsAuthenticated == true ? user.FindFirst(ClaimTypes.NameIdentifier)?.Value : null;
        return string.IsNullOrEmpty(id) ? null : id;
    }
}
