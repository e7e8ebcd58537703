using AspNetWebSockets.Handshake;
using Microsoft.Extensions.Options;

namespace AspNetWebSockets.Hosting;

/// <summary>Rejects option values that would make the server unsafe or unusable, at startup rather than on first request.</summary>
internal sealed class WebSocketServerOptionsValidator : IValidateOptions<WebSocketServerOptions>
{
    public ValidateOptionsResult Validate(string? name, WebSocketServerOptions options)
    {
        var failures = new List<string>();
        if (options.MaxMessageSize <= 0)
        {
            failures.Add($"{nameof(options.MaxMessageSize)} must be positive.");
        }

        if (options.MaxFrameSize is <= 0)
        {
            failures.Add($"{nameof(options.MaxFrameSize)} must be positive when set.");
        }

        if (options.MaxFragmentsPerMessage <= 0)
        {
            failures.Add($"{nameof(options.MaxFragmentsPerMessage)} must be positive.");
        }

        if (options.MaxConnections is <= 0)
        {
            failures.Add($"{nameof(options.MaxConnections)} must be positive when set.");
        }

        if (options.MaxBufferedAmount <= 0)
        {
            failures.Add($"{nameof(options.MaxBufferedAmount)} must be positive.");
        }

        CheckTimeout(options.KeepAliveInterval, nameof(options.KeepAliveInterval), allowInfinite: true, failures);
        CheckTimeout(options.KeepAliveTimeout, nameof(options.KeepAliveTimeout), allowInfinite: true, failures);
        CheckTimeout(options.CloseTimeout, nameof(options.CloseTimeout), allowInfinite: false, failures);
        CheckTimeout(options.ShutdownTimeout, nameof(options.ShutdownTimeout), allowInfinite: false, failures);
        CheckTimeout(options.HandshakeTimeout, nameof(options.HandshakeTimeout), allowInfinite: true, failures);

        if (options.MaxConnectionLifetime is { } lifetime && lifetime <= TimeSpan.Zero)
        {
            failures.Add($"{nameof(options.MaxConnectionLifetime)} must be positive when set.");
        }

        if (options.ConnectionLifetimeJitter < TimeSpan.Zero || options.ConnectionLifetimeJitter > (options.MaxConnectionLifetime ?? TimeSpan.MaxValue))
        {
            failures.Add($"{nameof(options.ConnectionLifetimeJitter)} must be between zero and {nameof(options.MaxConnectionLifetime)}.");
        }

        if (!WebSocketCloseCode.IsValidOnWire(options.ConnectionLifetimeCloseCode))
        {
            failures.Add($"{nameof(options.ConnectionLifetimeCloseCode)} must be a close code that may be sent (1000-1003, 1007-1014, 3000-4999).");
        }

        failures.AddRange(options.MessageRateLimit.Problems());

        foreach (string protocol in options.SubProtocols)
        {
            if (!HeaderTokens.IsToken(protocol))
            {
                failures.Add($"Subprotocol '{protocol}' is not an RFC 7230 token.");
            }
        }

        if (options.RequireSubProtocol && options.SubProtocols.Count == 0)
        {
            failures.Add($"{nameof(options.RequireSubProtocol)} needs at least one entry in {nameof(options.SubProtocols)}.");
        }

        foreach (string origin in options.AllowedOrigins)
        {
            // The same parser the runtime check uses, so an entry that passes here is one that can match.
            if (!OriginPolicy.TryNormalize(origin, out _))
            {
                failures.Add(DescribeBadOrigin(origin));
            }
        }

        WebSocketCompressionOptions compression = options.Compression;
        CheckRange(compression.Level, 1, 9, "Compression.Level", failures);
        CheckRange(compression.MemoryLevel, 1, 9, "Compression.MemoryLevel", failures);
        CheckRange(compression.ServerMaxWindowBits, 9, 15, "Compression.ServerMaxWindowBits", failures);
        CheckRange(compression.ClientMaxWindowBits, 9, 15, "Compression.ClientMaxWindowBits", failures);
        CheckRange(compression.MinMessageSize, 0, int.MaxValue, "Compression.MinMessageSize", failures);

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>
    /// Says what is wrong with an <c>AllowedOrigins</c> entry and, when it is a URL with more than an origin in it (a path,
    /// a query, user info), which origin to write instead: a browser's <c>Origin</c> header carries only scheme, host and port.
    /// </summary>
    private static string DescribeBadOrigin(string? origin)
    {
        string message = $"Allowed origin '{origin}' is not an origin such as 'https://example.com', 'http://localhost:5000' or 'null'";
        if (Uri.TryCreate(origin?.Trim(), UriKind.Absolute, out Uri? uri) && uri.Host.Length > 0
            && OriginPolicy.TryNormalize($"{uri.Scheme}://{uri.Authority}", out string suggestion))
        {
            return $"{message}; a browser's Origin has no path, query or user info: write '{suggestion}' instead.";
        }

        return message + ".";
    }

    private static void CheckRange(int value, int min, int max, string name, List<string> failures)
    {
        if (value < min || value > max)
        {
            failures.Add($"{name} must be between {min} and {max}.");
        }
    }

    private static void CheckTimeout(TimeSpan value, string name, bool allowInfinite, List<string> failures)
    {
        if (value <= TimeSpan.Zero && !(allowInfinite && value == Timeout.InfiniteTimeSpan))
        {
            failures.Add(allowInfinite ? $"{name} must be positive or Timeout.InfiniteTimeSpan." : $"{name} must be positive.");
        }
    }
}
