using AspNetWebSockets.Handshake;
using Microsoft.Extensions.Primitives;

namespace AspNetWebSockets.Tests.Handshake;

/// <summary>Builders for handshake requests used across the handshake tests.</summary>
internal static class HandshakeRequests
{
    /// <summary>The RFC 6455 §1.3 sample key.</summary>
    public const string SampleKey = "dGhlIHNhbXBsZSBub25jZQ==";

    /// <summary>A minimal valid browser-style upgrade request.</summary>
    public static HandshakeRequest Valid => new()
    {
        Method = "GET",
        Protocol = "HTTP/1.1",
        Host = "example.com",
        Upgrade = "websocket",
        Connection = "Upgrade",
        SecWebSocketKey = SampleKey,
        SecWebSocketVersion = "13",
    };

    /// <summary>Splits on '\n' into several header lines, so one string can describe a multi-line header in InlineData.</summary>
    public static StringValues Lines(string? text) => text is null ? StringValues.Empty : new StringValues(text.Split('\n'));
}
