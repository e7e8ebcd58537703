using AspNetWebSockets.Compression;
using AspNetWebSockets.Extensions;
using AspNetWebSockets.Handshake;

namespace AspNetWebSockets.Tests.Compression;

/// <summary>
/// ADVISORIES 16, the offer shapes PerMessageDeflateNegotiationTests does not spell out: quoted window values (RFC 6455
/// §9.1 lets a parameter value be a quoted-string whose unescaped text is the token), out-of-range values in both
/// forms, and the same offer twice.
/// </summary>
public sealed class DeflateOfferEdgeCaseTests
{
    private static string? Negotiate(string header)
    {
        var offers = new List<ExtensionOffer>();
        Assert.True(ExtensionHeaderParser.TryParse(header, HandshakeValidator.MaxListHeaderLength, offers));
        string response = ExtensionNegotiation.Negotiate(offers, [new PerMessageDeflateNegotiation(new WebSocketCompressionOptions { Enabled = true })]).Header;
        return response.Length == 0 ? null : response;
    }

    [Theory]
    [InlineData("permessage-deflate; server_max_window_bits=\"15\"", "permessage-deflate; server_max_window_bits=15")]
    [InlineData("permessage-deflate; server_max_window_bits=\"9\"", "permessage-deflate; server_max_window_bits=9")]
    [InlineData("permessage-deflate; client_max_window_bits=\"12\"", "permessage-deflate; client_max_window_bits=12")]
    public void A_quoted_window_value_means_the_same_as_the_bare_token_ADVISORIES_16(string offer, string expected) =>
        Assert.Equal(expected, Negotiate(offer));

    [Theory]
    [InlineData("permessage-deflate; server_max_window_bits=\"16\"")]
    [InlineData("permessage-deflate; server_max_window_bits=\"8\"")]
    [InlineData("permessage-deflate; client_max_window_bits=\"0\"")]
    [InlineData("permessage-deflate; client_max_window_bits=0")]
    [InlineData("permessage-deflate; server_max_window_bits=+15")]
    [InlineData("permessage-deflate; server_max_window_bits=99999999999999999999")]
    public void Out_of_range_or_malformed_window_values_are_declined_in_either_form_ADVISORIES_16(string offer) =>
        Assert.Null(Negotiate(offer));

    // RFC 7692 §7.1.2.2 allows a client window of 8. zlib's deflate cannot make one (it silently uses 9, the bug uWS
    // refers to), so the server accepts 8 for the client but inflates with 9: a larger inflate window reads any
    // smaller-window stream. The server's own window of 8 is declined (above): we could not honour it.
    [Fact]
    public void A_client_window_of_8_is_accepted_and_inflated_with_9_ADVISORIES_16()
    {
        var offers = new List<ExtensionOffer>();
        Assert.True(ExtensionHeaderParser.TryParse("permessage-deflate; client_max_window_bits=8", HandshakeValidator.MaxListHeaderLength, offers));

        Assert.True(PerMessageDeflateNegotiation.TryAccept(offers[0], new WebSocketCompressionOptions { Enabled = true }, out PerMessageDeflateParameters? parameters, out string? response));

        Assert.Equal("permessage-deflate; client_max_window_bits=8", response);
        Assert.Equal(9, parameters.ClientWindowBits);
    }

    // RFC 6455 §9.1: a quoted value must unescape to a token; " 15" does not, so the header is malformed and the
    // handshake fails (400) instead of the offer being declined.
    [Fact]
    public void A_quoted_value_that_is_not_a_token_makes_the_header_malformed_ADVISORIES_16() =>
        Assert.False(ExtensionHeaderParser.IsValid("permessage-deflate; server_max_window_bits=\" 15\"", HandshakeValidator.MaxListHeaderLength));

    [Fact]
    public void The_same_offer_twice_is_answered_once_ADVISORIES_16() =>
        Assert.Equal(
            "permessage-deflate; server_no_context_takeover",
            Negotiate("permessage-deflate; server_no_context_takeover, permessage-deflate; server_no_context_takeover"));
}
