namespace AspNetWebSockets.Handshake;

/// <summary>One element of a Sec-WebSocket-Extensions header: the extension name and its parameters in header order.</summary>
/// <remarks>
/// Parameters are a list, not a dictionary: duplicates must survive parsing so that the extension itself can decline
/// the offer (RFC 7692 §7), and no name — not even <c>constructor</c> or <c>__proto__</c> (ADVISORIES #3) — is ever
/// used as a lookup key here. Consumers compare names with an ordinal comparison.
/// </remarks>
public sealed class ExtensionOffer
{
    /// <summary>Creates an offer.</summary>
    /// <param name="name">The extension token, e.g. <c>permessage-deflate</c>.</param>
    /// <param name="parameters">Parameters in order; a value is null when the parameter had no <c>=</c>.</param>
    public ExtensionOffer(string name, IReadOnlyList<KeyValuePair<string, string?>> parameters)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(parameters);
        Name = name;
        Parameters = parameters;
    }

    /// <summary>The extension token as sent.</summary>
    public string Name { get; }

    /// <summary>Parameters in header order; values are unescaped if they were quoted, null when absent.</summary>
    public IReadOnlyList<KeyValuePair<string, string?>> Parameters { get; }

    /// <summary>Formats the offer back into header syntax, for logs and test failure messages.</summary>
    public override string ToString()
    {
        if (Parameters.Count == 0)
        {
            return Name;
        }

        var builder = new System.Text.StringBuilder(Name);
        foreach (KeyValuePair<string, string?> parameter in Parameters)
        {
            builder.Append("; ").Append(parameter.Key);
            if (parameter.Value is not null)
            {
                builder.Append('=').Append(parameter.Value);
            }
        }

        return builder.ToString();
    }
}
