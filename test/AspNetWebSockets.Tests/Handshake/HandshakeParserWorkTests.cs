using System.Text;
using AspNetWebSockets.Handshake;
using Xunit;
using static AspNetWebSockets.Tests.Handshake.HandshakeRequests;

namespace AspNetWebSockets.Tests.Handshake;

/// <summary>
/// ADVISORIES 1 and 2 without a clock: the quadratic (ws CVE-2021-32640, <c>trim().split(/ *, */)</c>) and exponential
/// (CVE-2020-7662, regex backtracking) parsers both did work — and allocated — per piece of hostile input. Ours scan
/// forward only, so refusing hostile input of any length allocates nothing at all, and input over the 4 KiB cap is
/// refused from its length alone. Time is measured by benchmarks, never asserted here.
/// </summary>
public class HandshakeParserWorkTests
{
    public static TheoryData<int> UnderTheCap => new(100, 1000, HandshakeValidator.MaxListHeaderLength - 2);

    private static long AllocatedBy(Action action)
    {
        action(); // JIT and static initialisation happen once, outside the measurement
        long before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Theory]
    [MemberData(nameof(UnderTheCap))]
    public void Refusing_spaces_inside_a_subprotocol_allocates_nothing_whatever_their_number_ADVISORIES_1(int spaces)
    {
        string header = "b" + new string(' ', spaces) + "x";

        Assert.False(HeaderTokens.TryParseTokenList(header, HandshakeValidator.MaxListHeaderLength, null));
        Assert.Equal(0, AllocatedBy(() => HeaderTokens.TryParseTokenList(header, HandshakeValidator.MaxListHeaderLength, null)));
    }

    [Theory]
    [MemberData(nameof(UnderTheCap))]
    public void Refusing_an_unclosed_quoted_string_allocates_nothing_whatever_its_length_ADVISORIES_2(int length)
    {
        string header = "a; b=\"" + new StringBuilder().Insert(0, "\\c", length / 2);

        Assert.False(ExtensionHeaderParser.IsValid(header, HandshakeValidator.MaxListHeaderLength));
        Assert.Equal(0, AllocatedBy(() => ExtensionHeaderParser.IsValid(header, HandshakeValidator.MaxListHeaderLength)));
    }

    [Theory]
    [InlineData(64 * 1024)]
    [InlineData(16 * 1024 * 1024)]
    public void Over_the_cap_the_validator_refuses_from_the_length_alone_ADVISORIES_1(int spaces)
    {
        string header = "b" + new string(' ', spaces) + "x";

        Assert.Equal(HandshakeFailure.InvalidSubProtocolHeader, HandshakeValidator.Validate(Valid with { SecWebSocketProtocol = header }));
        Assert.Equal(HandshakeFailure.InvalidExtensionsHeader, HandshakeValidator.Validate(Valid with { SecWebSocketExtensions = header }));
        Assert.Equal(0, AllocatedBy(() => HeaderTokens.TryParseTokenList(header, HandshakeValidator.MaxListHeaderLength, null)));
    }
}
