using AspNetWebSockets.Handshake;
using Xunit;

namespace AspNetWebSockets.Tests.Handshake;

public class OriginPolicyTests
{
    [Theory]
    // Same origin
    [InlineData("https://example.com", "example.com", "https", "", true)]
    [InlineData("http://localhost:5000", "localhost:5000", "http", "", true)]
    [InlineData("http://127.0.0.1:8080", "127.0.0.1:8080", "http", "", true)]
    [InlineData("http://[::1]:5000", "[::1]:5000", "http", "", true)]
    [InlineData("http://[::1]:5000", "[::1]:5001", "http", "", false)]
    // Absent Origin: a non-browser client, nothing ambient to hijack
    [InlineData(null, "example.com", "https", "", true)]
    [InlineData("", "example.com", "https", "", true)]
    // Foreign and opaque origins
    [InlineData("https://evil.com", "example.com", "https", "", false)]
    [InlineData("null", "example.com", "https", "", false)]
    [InlineData("null", "example.com", "https", "https://example.com", false)]
    [InlineData("null", "example.com", "https", "null", true)]
    // Scheme is not compared for same-origin, by design (TLS-terminating proxies)
    [InlineData("http://example.com", "example.com", "https", "", true)]
    [InlineData("https://example.com", "example.com", "http", "", true)]
    // Ports: compared, with each side's default port dropped
    [InlineData("https://example.com:8443", "example.com", "https", "", false)]
    [InlineData("https://example.com", "example.com:8443", "https", "", false)]
    [InlineData("http://localhost:5001", "localhost:5000", "http", "", false)]
    [InlineData("https://example.com:443", "example.com", "https", "", true)]
    [InlineData("https://example.com", "example.com:443", "https", "", true)]
    [InlineData("http://example.com:80", "example.com", "http", "", true)]
    [InlineData("http://example.com:080", "example.com", "http", "", true)]
    // Case
    [InlineData("HTTPS://EXAMPLE.COM", "example.com", "https", "", true)]
    [InlineData("https://Example.Com", "EXAMPLE.com", "https", "", true)]
    // Lookalikes
    [InlineData("https://evil-example.com", "example.com", "https", "", false)]
    [InlineData("https://example.com.evil.net", "example.com", "https", "", false)]
    [InlineData("https://notexample.com", "example.com", "https", "", false)]
    [InlineData("https://sub.example.com", "example.com", "https", "", false)]
    [InlineData("https://example.co", "example.com", "https", "", false)]
    [InlineData("https://example.com.", "example.com", "https", "", false)]
    [InlineData("https://example.com@evil.com", "example.com", "https", "", false)]
    [InlineData("https://evil.com#@example.com", "example.com", "https", "", false)]
    // Unparseable origins are refused
    [InlineData("https://example.com/", "example.com", "https", "", true)] // one trailing slash: still the origin (one parser for header and entries)
    [InlineData("https://example.com//", "example.com", "https", "", false)]
    [InlineData("https://example.com/path", "example.com", "https", "", false)]
    [InlineData("example.com", "example.com", "https", "", false)]
    [InlineData("//example.com", "example.com", "https", "", false)]
    [InlineData("https://", "example.com", "https", "", false)]
    [InlineData("https://example.com:", "example.com", "https", "", false)]
    [InlineData("https://example.com:99999", "example.com:99999", "https", "", false)]
    [InlineData("https://example.com:443x", "example.com", "https", "", false)]
    [InlineData("https://exa mple.com", "exa mple.com", "https", "", false)]
    [InlineData("https://ex%61mple.com", "example.com", "https", "", false)]
    [InlineData("https://example.com https://evil.com", "example.com", "https", "", false)]
    [InlineData("https://b\u00fccher.example", "b\u00fccher.example", "https", "", false)]
    [InlineData("javascript:alert(1)", "example.com", "https", "", false)]
    [InlineData("https://[::1", "[::1", "https", "", false)]
    [InlineData("https://[]", "[]", "https", "", false)]
    // Broken or empty Host: same-origin cannot be established
    [InlineData("https://example.com", "", "https", "", false)]
    [InlineData("https://example.com", "example.com/evil", "https", "", false)]
    // Allow-list
    [InlineData("https://app.example.com", "api.example.com", "https", "https://app.example.com", true)]
    [InlineData("https://app.example.com", "api.example.com", "https", "https://other.com|https://app.example.com", true)]
    [InlineData("https://app.example.com", "api.example.com", "https", "https://app.example.com:443", true)]
    [InlineData("https://app.example.com:443", "api.example.com", "https", "https://app.example.com", true)]
    [InlineData("http://app.example.com:80", "api.example.com", "https", "http://app.example.com", true)]
    [InlineData("https://app.example.com", "api.example.com", "https", "HTTPS://APP.Example.COM", true)]
    [InlineData("https://app.example.com", "api.example.com", "https", " https://app.example.com ", true)]
    [InlineData("https://app.example.com", "api.example.com", "https", "http://app.example.com", false)]  // scheme counts in the list
    [InlineData("https://app.example.com", "api.example.com", "https", "https://app.example.com:8443", false)]
    [InlineData("https://app.example.com:8443", "api.example.com", "https", "https://app.example.com", false)]
    [InlineData("https://app.example.com", "api.example.com", "https", "https://app.example.com/", true)] // the trailing slash people write
    [InlineData("https://app.example.com", "api.example.com", "https", "https://app.example.com/x", false)] // malformed entry never matches
    [InlineData("https://app.example.com", "api.example.com", "https", "app.example.com", false)]
    [InlineData("https://evil-example.com", "api.example.com", "https", "https://example.com", false)]
    [InlineData("https://example.com.evil.net", "api.example.com", "https", "https://example.com", false)]
    [InlineData("http://localhost:5000", "api.example.com", "https", "http://localhost:5000", true)]
    [InlineData("http://localhost:5001", "api.example.com", "https", "http://localhost:5000", false)]
    public void IsAllowed(string? origin, string host, string scheme, string allowed, bool expected)
    {
        string[] allowedOrigins = allowed.Split('|', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(expected, OriginPolicy.IsAllowed(origin, host, scheme, allowedOrigins, allowAny: false));
    }

    [Theory]
    [InlineData("https://evil.com")]
    [InlineData("null")]
    [InlineData("not an origin")]
    public void AllowAnyAllowsEverything(string origin) =>
        Assert.True(OriginPolicy.IsAllowed(origin, "example.com", "https", [], allowAny: true));

    [Theory]
    [InlineData("HTTPS://Example.COM:443", true, "https://example.com")]
    [InlineData("https://example.com:8443", true, "https://example.com:8443")]
    [InlineData("http://localhost:5000", true, "http://localhost:5000")]
    [InlineData("http://example.com:80", true, "http://example.com")]
    [InlineData("http://[::1]:80", true, "http://[::1]")]
    [InlineData("chrome-extension://abcdef", true, "chrome-extension://abcdef")]
    [InlineData("NULL", true, "null")]
    [InlineData("https://example.com/", true, "https://example.com")]
    [InlineData("https://example.com/x", false, "")]
    [InlineData("https://user@example.com", false, "")]
    [InlineData("", false, "")]
    [InlineData(null, false, "")]
    public void TryNormalize(string? origin, bool expected, string normalized)
    {
        Assert.Equal(expected, OriginPolicy.TryNormalize(origin, out string actual));
        Assert.Equal(normalized, actual);
    }
}
