using Xunit;

namespace AspNetWebSockets.TestShared;

/// <summary>
/// Close codes on both sides of RFC 6455 §7.4's rules for what a close frame may carry, written out here rather than
/// taken from the library under test. One table for the unit tests of the close-frame code and for the conformance
/// suite's close handshake, so the two cannot drift apart. Linked as source into both test projects.
/// </summary>
internal static class CloseCodes
{
    /// <summary>
    /// Every code §7.4.1 defines for use in a close frame, and both ends of the §7.4.2 ranges for libraries and
    /// frameworks (3000–3999) and for private use (4000–4999).
    /// </summary>
    public static IReadOnlyList<int> Valid { get; } = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];

    /// <summary>
    /// Codes a close frame must not carry, from each range: 0–999 "are not used"; 1004 "Reserved"; 1005, 1006 and 1015
    /// "MUST NOT be set as a status code in a Close control frame by an endpoint"; 1016–2999 reserved for future
    /// revisions of the protocol; 5000 and above outside every range, up to the largest 16-bit value.
    /// </summary>
    public static IReadOnlyList<int> Invalid { get; } = [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535];

    /// <summary><see cref="Valid"/> as theory data, one code per row.</summary>
    public static TheoryData<int> ValidRows => new(Valid);

    /// <summary><see cref="Invalid"/> as theory data, one code per row.</summary>
    public static TheoryData<int> InvalidRows => new(Invalid);
}
