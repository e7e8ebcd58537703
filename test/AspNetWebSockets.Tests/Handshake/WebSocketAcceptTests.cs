using System.Security.Cryptography;
using System.Text;
using AspNetWebSockets.Handshake;
using Xunit;

namespace AspNetWebSockets.Tests.Handshake;

public class WebSocketAcceptTests
{
    private const string Guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    // The obvious implementation, kept deliberately naive as the oracle. SHA-1 is what RFC 6455 prescribes.
#pragma warning disable CA5350
    private static string Naive(string key) => Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + Guid)));
#pragma warning restore CA5350

    [Fact]
    public void Rfc6455SampleKey()
    {
        Assert.Equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", WebSocketAccept.Compute("dGhlIHNhbXBsZSBub25jZQ=="));

        Span<char> destination = stackalloc char[WebSocketAccept.Length];
        Assert.True(WebSocketAccept.TryCompute("dGhlIHNhbXBsZSBub25jZQ==", destination, out int written));
        Assert.Equal(WebSocketAccept.Length, written);
        Assert.Equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", destination.ToString());
    }

    [Fact]
    public void AgreesWithNaiveImplementationForRandomKeys()
    {
        var random = new Random(6455);
        var bytes = new byte[16];
        for (int i = 0; i < 500; i++)
        {
            random.NextBytes(bytes);
            string key = Convert.ToBase64String(bytes);
            Assert.Equal(Naive(key), WebSocketAccept.Compute(key));
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("a")]
    [InlineData("short-but-ascii")]
    [InlineData("exactly-24-characters-xx")]
    public void AnyAsciiKeyUpTo24CharsIsHashed(string key) => Assert.Equal(Naive(key), WebSocketAccept.Compute(key));

    [Theory]
    [InlineData(" dGhlIHNhbXBsZSBub25jZQ==")]
    [InlineData("dGhlIHNhbXBsZSBub25jZQ==\t")]
    [InlineData("  dGhlIHNhbXBsZSBub25jZQ==  ")]
    public void SurroundingWhitespaceIsNotPartOfTheKey(string key) =>
        Assert.Equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", WebSocketAccept.Compute(key));

    [Theory]
    [InlineData("dGhlIHNhbXBsZSBub25jZQ==A", 28)]  // 25 characters
    [InlineData("dGhlIHNhbXBsZSBub25jZQ\u00e9=", 28)] // non-ASCII would hash as '?' under Encoding.ASCII
    [InlineData("dGhlIHNhbXBsZSBub25jZQ==", 27)]  // destination too short
    public void TryComputeRefuses(string key, int destinationLength)
    {
        Span<char> destination = stackalloc char[destinationLength];
        Assert.False(WebSocketAccept.TryCompute(key, destination, out int written));
        Assert.Equal(0, written);
    }

    [Fact]
    public void ComputeThrowsOnOverlongKey() =>
        Assert.Throws<ArgumentException>(() => WebSocketAccept.Compute(new string('A', 25)));

    [Fact]
    public void TryComputeDoesNotAllocate()
    {
        string key = "dGhlIHNhbXBsZSBub25jZQ==";
        Span<char> destination = stackalloc char[WebSocketAccept.Length];
        for (int i = 0; i < 100; i++)
        {
            WebSocketAccept.TryCompute(key, destination, out _); // warm up: JIT tiers, crypto provider init
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            WebSocketAccept.TryCompute(key, destination, out _);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void ClientKeysAreValidAndRandom()
    {
        var keys = new HashSet<string>();
        for (int i = 0; i < 100; i++)
        {
            string key = WebSocketAccept.CreateClientKey();
            Assert.Equal(WebSocketAccept.KeyLength, key.Length);
            Assert.Equal(16, Convert.FromBase64String(key).Length);
            Assert.True(HandshakeValidator.IsValidKey(key));
            Assert.Equal(HandshakeFailure.None, HandshakeValidator.Validate(HandshakeRequests.Valid with { SecWebSocketKey = key }));
            keys.Add(key);
        }

        Assert.Equal(100, keys.Count);
    }
}
