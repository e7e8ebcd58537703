using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace AspNetWebSockets.Testing;

/// <summary>
/// TestServer's own upgrade feature reports "not upgradable" and throws on upgrade, so the in-memory client replaces
/// it per request with this one: upgrading hands the server one end of an in-memory duplex pipe and tells the client
/// the response status and headers, so the app's real middleware and frame code run on both ends.
/// </summary>
internal sealed class InMemoryUpgradeFeature : IHttpUpgradeFeature
{
    private readonly HttpContext _context;
    private readonly Stream _serverStream;
    private readonly TaskCompletionSource<IHeaderDictionary> _upgraded;

    public InMemoryUpgradeFeature(HttpContext context, Stream serverStream, TaskCompletionSource<IHeaderDictionary> upgraded)
    {
        _context = context;
        _serverStream = serverStream;
        _upgraded = upgraded;
    }

    public bool IsUpgradableRequest => true;

    public Task<Stream> UpgradeAsync()
    {
        _context.Response.StatusCode = StatusCodes.Status101SwitchingProtocols;
        var snapshot = new HeaderDictionary();
        foreach (KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues> header in _context.Response.Headers)
        {
            snapshot[header.Key] = header.Value;
        }

        _upgraded.TrySetResult(snapshot);
        return Task.FromResult(_serverStream);
    }
}
