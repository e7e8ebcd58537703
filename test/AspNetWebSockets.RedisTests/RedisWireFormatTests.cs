using System.Text;
using AspNetWebSockets.Redis;

namespace AspNetWebSockets.RedisTests;

/// <summary>The Redis messages' wire formats, round trips and malformed input, without a Redis.</summary>
public sealed class RedisWireFormatTests
{
    private static readonly byte[] NodeId = Guid.NewGuid().ToByteArray();

    public static TheoryData<int> Targets => new(0, 1, 2, 3, 4);

    private static WebSocketTarget TargetFor(int i) => i switch
    {
        0 => WebSocketTarget.Connection("0HN1:00000001"),
        1 => WebSocketTarget.User("ünïcode-user"),
        2 => WebSocketTarget.Group("room", "a", "bb"),
        3 => WebSocketTarget.All("c"),
        _ => WebSocketTarget.All(),
    };

    [Theory]
    [MemberData(nameof(Targets))]
    public void An_addressed_message_round_trips(int i)
    {
        WebSocketTarget target = TargetFor(i);
        byte[] body = RedisWebSocketBackplane.EncodeAddressed(NodeId, new WebSocketAddressedMessage(target, WebSocketMessageType.Binary, new byte[] { 1, 2, 3 }));

        Assert.True(RedisWebSocketBackplane.TryParseAddressed(body, out WebSocketAddressedMessage? parsed));
        Assert.Equal(target.Kind, parsed!.Target.Kind);
        Assert.Equal(target.Name, parsed.Target.Name);
        Assert.Equal(target.Except, parsed.Target.Except);
        Assert.Equal(WebSocketMessageType.Binary, parsed.MessageType);
        Assert.Equal(new byte[] { 1, 2, 3 }, parsed.Payload.ToArray());
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void Every_truncation_and_a_bad_kind_are_rejected_without_throwing(int i)
    {
        byte[] body = RedisWebSocketBackplane.EncodeAddressed(NodeId, new WebSocketAddressedMessage(TargetFor(i), WebSocketMessageType.Text, Array.Empty<byte>()));
        for (int length = 0; length < body.Length; length++)
        {
            Assert.False(RedisWebSocketBackplane.TryParseAddressed(body[..length], out _), $"a body cut at {length} of {body.Length} bytes parsed");
        }

        foreach (byte kind in new byte[] { 0, 5, 255 })
        {
            byte[] bad = (byte[])body.Clone();
            bad[18] = kind;
            Assert.False(RedisWebSocketBackplane.TryParseAddressed(bad, out _));
        }
    }

    [Fact]
    public void Inconsistent_targets_and_invalid_UTF8_are_rejected()
    {
        // A connection target with exceptions, an "all" with a name, an empty user, and a name that is not UTF-8.
        byte[] connection = RedisWebSocketBackplane.EncodeAddressed(NodeId, new WebSocketAddressedMessage(WebSocketTarget.Group("g", "x"), WebSocketMessageType.Text, Array.Empty<byte>()));
        connection[18] = (byte)WebSocketTargetKind.Connection;
        Assert.False(RedisWebSocketBackplane.TryParseAddressed(connection, out _));

        byte[] all = RedisWebSocketBackplane.EncodeAddressed(NodeId, new WebSocketAddressedMessage(WebSocketTarget.Group("g"), WebSocketMessageType.Text, Array.Empty<byte>()));
        all[18] = (byte)WebSocketTargetKind.All;
        Assert.False(RedisWebSocketBackplane.TryParseAddressed(all, out _));

        byte[] emptyUser = RedisWebSocketBackplane.EncodeAddressed(NodeId, new WebSocketAddressedMessage(WebSocketTarget.All(), WebSocketMessageType.Text, Array.Empty<byte>()));
        emptyUser[18] = (byte)WebSocketTargetKind.User;
        Assert.False(RedisWebSocketBackplane.TryParseAddressed(emptyUser, out _));

        byte[] notUtf8 = RedisWebSocketBackplane.EncodeAddressed(NodeId, new WebSocketAddressedMessage(WebSocketTarget.User("ab"), WebSocketMessageType.Text, Array.Empty<byte>()));
        notUtf8[21] = 0xff;
        Assert.False(RedisWebSocketBackplane.TryParseAddressed(notUtf8, out _));

        Assert.Throws<ArgumentException>(() => RedisWebSocketBackplane.EncodeAddressed(NodeId,
            new WebSocketAddressedMessage(WebSocketTarget.Group(new string('g', 70_000)), WebSocketMessageType.Text, Array.Empty<byte>())));
    }

    [Fact]
    public void Presence_notifications_parse_and_malformed_ones_are_rejected()
    {
        Assert.True(RedisWebSocketPresence.TryParse("J4:5:conn" + "alicero:om", out WebSocketPresenceChange? joined));
        Assert.Equal(new WebSocketPresenceChange(WebSocketPresenceChangeKind.Joined, "ro:om", new WebSocketPresenceMember("conn", "alice")), joined);

        Assert.True(RedisWebSocketPresence.TryParse("L2:0:c1room", out WebSocketPresenceChange? left));
        Assert.Equal(new WebSocketPresenceChange(WebSocketPresenceChangeKind.Left, "room", new WebSocketPresenceMember("c1", null)), left);

        string user = "zoë";
        Assert.True(RedisWebSocketPresence.TryParse($"F2:{Encoding.UTF8.GetByteCount(user)}:c1{user}", out WebSocketPresenceChange? offline));
        Assert.Equal(new WebSocketPresenceChange(WebSocketPresenceChangeKind.UserOffline, null, new WebSocketPresenceMember("c1", user)), offline);

        foreach (string bad in new[] { "", "J", "X1:1:ab", "J1:1", "J9:1:ab", "J0:1:ab", "J-1:1:ab", "J1:x:ab", "J1:9:abc" })
        {
            Assert.False(RedisWebSocketPresence.TryParse(bad, out _), $"'{bad}' parsed");
        }
    }
}
