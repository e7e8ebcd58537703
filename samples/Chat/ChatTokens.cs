using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

/// <summary>
/// The sample's token issuer: anyone may sign in with any free-form name (a demo, not an identity provider) and gets a
/// JWT whose <c>sub</c> is that name. Every node must share <c>tokenKey</c> so a token from one is valid on the other.
/// </summary>
internal sealed class ChatTokens(IConfiguration configuration)
{
    /// <summary>The signing key: SHA-256 of the configured <c>tokenKey</c> (a development default otherwise).</summary>
    public SymmetricSecurityKey Key { get; } = new(SHA256.HashData(Encoding.UTF8.GetBytes(
        configuration["tokenKey"] is { Length: > 0 } k ? k : "chat-sample development key - set tokenKey outside a demo")));

    /// <summary>How long a token lives (<c>tokenLifetimeSeconds</c>, default 1 hour; e.g. 30 to watch sockets close with 1008).</summary>
    public TimeSpan Lifetime { get; } = TimeSpan.FromSeconds(int.TryParse(configuration["tokenLifetimeSeconds"], out int s) && s > 0 ? s : 3600);

    /// <summary>Names are 1–32 letters, digits, '_' or '-': they are shown to others and used as user ids.</summary>
    public static bool IsValidName(string? name) =>
        name is { Length: > 0 and <= 32 } && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');

    public (string Token, DateTime ExpiresUtc) Issue(string name)
    {
        DateTime expires = DateTime.UtcNow + Lifetime;
        string token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Subject = new ClaimsIdentity([new Claim("sub", name)]),
            Expires = expires,
            SigningCredentials = new SigningCredentials(Key, SecurityAlgorithms.HmacSha256),
        });
        return (token, expires);
    }
}
