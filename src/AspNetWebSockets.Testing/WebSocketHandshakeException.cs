using Microsoft.AspNetCore.Http;

namespace AspNetWebSockets.Testing;

/// <summary>The server refused the opening handshake, or answered it in a way RFC 6455 §4.1 says a client must reject.</summary>
public sealed class WebSocketHandshakeException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="statusCode">The HTTP status the server answered with.</param>
    /// <param name="headers">The response headers.</param>
    /// <param name="message">What was wrong.</param>
    public WebSocketHandshakeException(int statusCode, IHeaderDictionary headers, string message)
        : base(message)
    {
        StatusCode = statusCode;
        Headers = headers;
    }

    /// <summary>The HTTP status of the response (101 when the response was a malformed upgrade).</summary>
    public int StatusCode { get; }

    /// <summary>The response headers.</summary>
    public IHeaderDictionary Headers { get; }
}
