using System.Buffers;
using AspNetWebSockets.Extensions;
using AspNetWebSockets.Handshake;

namespace AspNetWebSockets.Tests.Extensions;

/// <summary>RFC 6455 §9.1: the server picks an extension from the client's offers through <see cref="IWebSocketExtension"/>.</summary>
public sealed class ExtensionNegotiationTests
{
    private static List<ExtensionOffer> Offers(string header)
    {
        var offers = new List<ExtensionOffer>();
        Assert.True(ExtensionHeaderParser.TryParse(header, HandshakeValidator.MaxListHeaderLength, offers));
        return offers;
    }

    [Fact]
    public void No_extensions_means_none_negotiated_whatever_is_offered()
    {
        NegotiatedExtensions negotiated = ExtensionNegotiation.Negotiate(Offers("permessage-deflate; client_max_window_bits"), []);

        Assert.Same(NegotiatedExtensions.None, negotiated);
    }

    [Fact]
    public void An_extension_sees_only_its_own_offers_in_client_order_and_unknown_extensions_are_ignored()
    {
        var extension = new FakeExtension("x-test", accept: true, "x-test; a=1", 0x40);

        NegotiatedExtensions negotiated = ExtensionNegotiation.Negotiate(Offers("unknown, x-test; a=1, other; z, X-Test; a=2"), [extension]);

        Assert.Equal("x-test; a=1", negotiated.Header);
        Assert.Equal(0x40, negotiated.ReservedBits);
        Assert.Same(extension.Session, negotiated.Session);
        Assert.NotNull(extension.Seen);
        Assert.Equal(["a=1", "a=2"], extension.Seen.Select(o => $"{o.Parameters[0].Key}={o.Parameters[0].Value}"));
    }

    [Fact]
    public void A_declining_extension_adds_nothing()
    {
        NegotiatedExtensions negotiated = ExtensionNegotiation.Negotiate(Offers("x-test"), [new FakeExtension("x-test", accept: false, "ignored", 0x40)]);

        Assert.Same(NegotiatedExtensions.None, negotiated);
    }

    [Fact]
    public void An_extension_that_was_not_offered_is_not_asked()
    {
        var extension = new FakeExtension("x-test", accept: true, "x-test", 0x40);

        Assert.Same(NegotiatedExtensions.None, ExtensionNegotiation.Negotiate(Offers("other"), [extension]));
        Assert.Null(extension.Seen);
    }

    [Fact]
    public void The_first_extension_that_accepts_is_the_connections_and_later_ones_are_not_asked()
    {
        var declining = new FakeExtension("x-one", accept: false, "x-one", 0x40);
        var accepting = new FakeExtension("x-two", accept: true, "x-two", 0x20);
        var later = new FakeExtension("x-three", accept: true, "x-three", 0x10);

        NegotiatedExtensions negotiated = ExtensionNegotiation.Negotiate(Offers("x-one, x-two, x-three"), [declining, accepting, later]);

        Assert.Equal("x-two", negotiated.Header); // extensions do not stack
        Assert.Equal(0x20, negotiated.ReservedBits);
        Assert.NotNull(declining.Seen);
        Assert.Null(later.Seen);
    }

    /// <summary>A hand-written fake: simpler than a mock for an interface with out parameters.</summary>
    private sealed class FakeExtension(string name, bool accept, string response, byte bits) : IWebSocketExtension
    {
        public string Name { get; } = name;

        public byte ReservedBits { get; } = bits;

        public IReadOnlyList<ExtensionOffer>? Seen { get; private set; }

        public IWebSocketExtensionSession Session { get; } = new InertSession();

        public bool TryNegotiate(IReadOnlyList<ExtensionOffer> offers, out string? responseElement, out IWebSocketExtensionSession? session)
        {
            Seen = offers;
            responseElement = accept ? response : null;
            session = accept ? Session : null;
            return accept;
        }
    }

    /// <summary>A session that is never used to transform: negotiation only hands it over.</summary>
    private sealed class InertSession : IWebSocketExtensionSession
    {
        public bool IsDecoding => false;

        public object? SharedEncodingKey => null;

        public Span<byte> GetDecodeInputSpan() => Span<byte>.Empty;

        public void CommitDecodeInput(int count, bool endOfMessage) => throw new NotSupportedException();

        public OperationStatus Decode(Span<byte> destination, out int written) => throw new NotSupportedException();

        public bool TryEncode(ReadOnlySpan<byte> payload, out ReadOnlyMemory<byte> encoded) => throw new NotSupportedException();

        public void ReleaseEncoded()
        {
        }

        public bool TryEncodeShared(ReadOnlySpan<byte> payload, IBufferWriter<byte> output) => false;

        public void Dispose()
        {
        }
    }
}
