using AspNetWebSockets.Compression;
using AspNetWebSockets.Extensions;
using AspNetWebSockets.Handshake;

namespace AspNetWebSockets.Tests.Compression;

/// <summary>RFC 7692 §7: offer → response (or decline) for the server side of permessage-deflate.</summary>
public sealed class PerMessageDeflateNegotiationTests
{
    private static string? Negotiate(string header, Action<WebSocketCompressionOptions>? configure = null)
    {
        var options = new WebSocketCompressionOptions { Enabled = true };
        configure?.Invoke(options);
        var offers = new List<ExtensionOffer>();
        Assert.True(ExtensionHeaderParser.TryParse(header, HandshakeValidator.MaxListHeaderLength, offers));
        string response = ExtensionNegotiation.Negotiate(offers, [new PerMessageDeflateNegotiation(options)]).Header;
        return response.Length == 0 ? null : response;
    }

    [Theory]
    // Plain offers and what browsers send (Chromium: client_max_window_bits without a value).
    [InlineData("permessage-deflate", "permessage-deflate")]
    [InlineData("permessage-deflate; client_max_window_bits", "permessage-deflate")]
    // §7.1.1: context takeover requests are honoured and echoed.
    [InlineData("permessage-deflate; server_no_context_takeover", "permessage-deflate; server_no_context_takeover")]
    [InlineData("permessage-deflate; client_no_context_takeover", "permessage-deflate; client_no_context_takeover")]
    [InlineData("permessage-deflate; server_no_context_takeover; client_no_context_takeover", "permessage-deflate; server_no_context_takeover; client_no_context_takeover")]
    // §7.1.2.1: the server window never exceeds what was asked for.
    [InlineData("permessage-deflate; server_max_window_bits=10", "permessage-deflate; server_max_window_bits=10")]
    [InlineData("permessage-deflate; server_max_window_bits=15", "permessage-deflate; server_max_window_bits=15")]
    [InlineData("permessage-deflate; server_max_window_bits=9", "permessage-deflate; server_max_window_bits=9")]
    // A client window value is echoed (never raised): .NET's client reads its absence as 15 and refuses.
    [InlineData("permessage-deflate; client_max_window_bits=10", "permessage-deflate; client_max_window_bits=10")]
    // First acceptable offer wins: the first is declined (8 bits), the second accepted.
    [InlineData("permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=12", "permessage-deflate; server_max_window_bits=12")]
    [InlineData("permessage-deflate; unknown=1, permessage-deflate", "permessage-deflate")]
    public void Acceptable_offers_get_a_response_legal_for_them(string offer, string expected) => Assert.Equal(expected, Negotiate(offer));

    [Theory]
    [InlineData("permessage-deflate; server_max_window_bits=8")]            // zlib cannot produce an 8-bit raw deflate window
    [InlineData("permessage-deflate; server_max_window_bits=16")]
    [InlineData("permessage-deflate; server_max_window_bits=7")]
    [InlineData("permessage-deflate; server_max_window_bits=0")]
    [InlineData("permessage-deflate; server_max_window_bits=010")]          // leading zero
    [InlineData("permessage-deflate; server_max_window_bits")]              // needs a value
    [InlineData("permessage-deflate; client_max_window_bits=16")]
    [InlineData("permessage-deflate; client_max_window_bits=abc")]
    [InlineData("permessage-deflate; server_no_context_takeover=1")]        // takes no value
    [InlineData("permessage-deflate; client_no_context_takeover=true")]
    [InlineData("permessage-deflate; server_no_context_takeover; server_no_context_takeover")] // duplicates (ADVISORIES #3)
    [InlineData("permessage-deflate; client_max_window_bits; client_max_window_bits=10")]
    [InlineData("permessage-deflate; foo")]                                  // unknown parameter
    [InlineData("permessage-deflate; constructor")]
    [InlineData("permessage-deflate; __proto__=1")]
    [InlineData("x-webkit-deflate-frame")]                                   // another extension entirely
    public void Unacceptable_offers_are_declined_not_failed(string offer) => Assert.Null(Negotiate(offer));

    [Fact]
    public void Server_settings_add_parameters_the_client_did_not_ask_for_where_the_rfc_allows()
    {
        string? response = Negotiate("permessage-deflate; client_max_window_bits", o =>
        {
            o.ServerContextTakeover = false;
            o.ClientContextTakeover = false;
            o.ServerMaxWindowBits = 11;
            o.ClientMaxWindowBits = 10;
        });

        Assert.Equal("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=10", response);
    }

    [Fact]
    public void Client_window_is_never_announced_when_the_client_did_not_offer_the_parameter()
    {
        string? response = Negotiate("permessage-deflate", o => o.ClientMaxWindowBits = 10);

        Assert.Equal("permessage-deflate", response); // §7.1.2.2: MUST NOT include it; we inflate with 15 instead
    }

    [Fact]
    public void Agreed_parameters_drive_the_codec_windows()
    {
        var offers = new List<ExtensionOffer>();
        ExtensionHeaderParser.TryParse("permessage-deflate; server_max_window_bits=10; client_max_window_bits=8; client_no_context_takeover", 4096, offers);

        Assert.True(PerMessageDeflateNegotiation.TryAccept(offers[0], new WebSocketCompressionOptions(), out PerMessageDeflateParameters? parameters, out _));
        Assert.Equal(new PerMessageDeflateParameters(ServerWindowBits: 10, ServerNoContextTakeover: false, ClientWindowBits: 9, ClientNoContextTakeover: true), parameters);
    }
}
