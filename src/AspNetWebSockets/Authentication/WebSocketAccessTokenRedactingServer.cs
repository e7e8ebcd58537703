using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace AspNetWebSockets.Authentication;

/// <summary>
/// Wraps the server (Kestrel) so that a WebSocket handshake's <c>access_token</c> query parameter is moved into a request
/// feature before the request reaches hosting: hosting's "Request starting/finished" logs, HTTP logging, W3C logging,
/// diagnostics and the application then see <c>access_token=[redacted]</c>, and only
/// <see cref="WebSocketAccessTokenExtensions.GetWebSocketAccessToken"/> sees the token.
/// </summary>
/// <remarks>
/// This is the one place early enough: hosting logs the request line before any middleware runs. Requests that are not
/// WebSocket handshakes are left alone (their tokens are not accepted either).
/// </remarks>
internal sealed class WebSocketAccessTokenRedactingServer(IServer inner, string parameter) : IServer
{
    internal const string Redacted = "[redacted]";

    public IFeatureCollection Features => inner.Features;

    public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken)
        where TContext : notnull =>
        inner.StartAsync(new RedactingApplication<TContext>(application, parameter), cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => inner.StopAsync(cancellationToken);

    public void Dispose() => inner.Dispose();

    /// <summary>
    /// Takes the parameter out of the request's query string and raw target if the request is a WebSocket handshake;
    /// returns the token, or null.
    /// </summary>
    internal static string? TakeToken(IFeatureCollection features, string parameter)
    {
        IHttpRequestFeature? request = features.Get<IHttpRequestFeature>();
        if (request is null || request.QueryString.Length == 0 || !IsHandshake(request, features))
        {
            return null;
        }

        string? token = Redact(request.QueryString, parameter, out string redactedQuery);
        if (token is null)
        {
            return null;
        }

        request.QueryString = redactedQuery;
        int query = request.RawTarget.IndexOf('?');
        if (query >= 0)
        {
            request.RawTarget = request.RawTarget[..query] + redactedQuery;
        }

        return token;
    }

    /// <summary>The query string with every value of <paramref name="parameter"/> replaced by <see cref="Redacted"/>; returns the (single) value.</summary>
    internal static string? Redact(string queryString, string parameter, out string redacted)
    {
        redacted = queryString;
        string? token = null;
        var parts = queryString.TrimStart('?').Split('&');
        bool found = false;
        for (int i = 0; i < parts.Length; i++)
        {
            int equals = parts[i].IndexOf('=');
            string name = equals < 0 ? parts[i] : parts[i][..equals];
            if (string.Equals(Uri.UnescapeDataString(name), parameter, StringComparison.Ordinal))
            {
                string value = equals < 0 ? string.Empty : Uri.UnescapeDataString(parts[i][(equals + 1)..].Replace('+', ' '));
                token = found ? null : value; // two tokens: ambiguous, accept neither (but redact both)
                found = true;
                parts[i] = name + "=" + Redacted;
            }
        }

        if (!found)
        {
            return null;
        }

        redacted = "?" + string.Join('&', parts);
        return token is { Length: > 0 } ? token : null;
    }

    /// <summary>An RFC 6455 upgrade (GET with <c>Upgrade: websocket</c>) or an RFC 8441 extended CONNECT for <c>websocket</c>.</summary>
    internal static bool IsHandshake(IHttpRequestFeature request, IFeatureCollection features)
    {
        if (features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true } connect)
        {
            return string.Equals(connect.Protocol, "websocket", StringComparison.OrdinalIgnoreCase);
        }

        return HttpMethods.IsGet(request.Method)
            && request.Headers.TryGetValue(HeaderNames.Upgrade, out StringValues upgrade)
            && upgrade.ToString().Contains("websocket", StringComparison.OrdinalIgnoreCase);
    }

    private sealed class RedactingApplication<TContext>(IHttpApplication<TContext> inner, string parameter) : IHttpApplication<TContext>
        where TContext : notnull
    {
        public TContext CreateContext(IFeatureCollection contextFeatures)
        {
            if (TakeToken(contextFeatures, parameter) is { } token)
            {
                contextFeatures.Set(new WebSocketAccessTokenFeature(token));
            }

            return inner.CreateContext(contextFeatures);
        }

        public Task ProcessRequestAsync(TContext context) => inner.ProcessRequestAsync(context);

        public void DisposeContext(TContext context, Exception? exception) => inner.DisposeContext(context, exception);
    }
}
