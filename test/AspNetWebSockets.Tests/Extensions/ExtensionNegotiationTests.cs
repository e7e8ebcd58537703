using AspNetWebSockets.Extensions;
using AspNetWebSockets.Handshake;

namespace AspNetWebSockets.Tests.Extensions;

/// <summary>RFC 6455 §9.1: the server picks extensions from the client's offers through the factory interface.</summary>
public sealed class ExtensionNegotiationTests
{
    private static List<ExtensionOffer> Offers(string header)
    {
        var offers = new List<ExtensionOffer>();
        Assert.True(ExtensionHeaderParser.TryParse(header, HandshakeValidator.MaxListHeaderLength, offers));
        return offers;
    }

    [Fact]
    public void No_factories_means_no_extensions_whatever_is_offered()
    {
        (string header, byte bits, _) = ExtensionNegotiation.Negotiate(Offers("permessage-deflate; client_max_window_bits"), []);

        Assert.Equal(string.Empty, header);
        Assert.Equal(0, bits);
    }

    [Fact]
    public void A_factory_sees_only_its_own_offers_in_client_order_and_unknown_extensions_are_ignored()
    {
        var factory = new FakeFactory("x-test", accept: true, "x-test; a=1", 0x40);

        (string header, byte bits, _) = ExtensionNegotiation.Negotiate(Offers("unknown, x-test; a=1, other; z, X-Test; a=2"), [factory]);

        Assert.Equal("x-test; a=1", header);
        Assert.Equal(0x40, bits);
        Assert.NotNull(factory.Seen);
        Assert.Equal(["a=1", "a=2"], factory.Seen.Select(o => $"{o.Parameters[0].Key}={o.Parameters[0].Value}"));
    }

    [Fact]
    public void A_declining_factory_adds_nothing()
    {
        (string header, byte bits, _) = ExtensionNegotiation.Negotiate(Offers("x-test"), [new FakeFactory("x-test", accept: false, "ignored", 0x40)]);

        Assert.Equal(string.Empty, header);
        Assert.Equal(0, bits);
    }

    [Fact]
    public void A_factory_whose_extension_was_not_offered_is_not_asked()
    {
        var factory = new FakeFactory("x-test", accept: true, "x-test", 0x40);

        (string header, _, _) = ExtensionNegotiation.Negotiate(Offers("other"), [factory]);

        Assert.Equal(string.Empty, header);
        Assert.Null(factory.Seen);
    }

    [Fact]
    public void Two_extensions_cannot_claim_the_same_reserved_bit()
    {
        (string header, byte bits, _) = ExtensionNegotiation.Negotiate(
            Offers("x-one, x-two, x-three"),
            [new FakeFactory("x-one", true, "x-one", 0x40), new FakeFactory("x-two", true, "x-two", 0x40), new FakeFactory("x-three", true, "x-three", 0x20)]);

        Assert.Equal("x-one, x-three", header);
        Assert.Equal(0x60, bits);
    }

    /// <summary>A hand-written fake: simpler than a mock for an interface with an out parameter.</summary>
    private sealed class FakeFactory(string name, bool accept, string response, byte bits) : IWebSocketExtensionFactory
    {
        public string Name { get; } = name;

        public IReadOnlyList<ExtensionOffer>? Seen { get; private set; }

        public bool TryNegotiate(IReadOnlyList<ExtensionOffer> offers, out WebSocketExtensionAgreement agreement)
        {
            Seen = offers;
            agreement = new WebSocketExtensionAgreement(response, bits);
            return accept;
        }
    }
}
