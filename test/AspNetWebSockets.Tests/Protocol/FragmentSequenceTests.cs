using System.Net.WebSockets;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets.Tests.Protocol;

/// <summary>A message sent in fragments (RFC 6455 §5.4): opcode then continuations, UTF-8 checked across fragments.</summary>
public sealed class FragmentSequenceTests
{
    [Fact]
    public void The_first_fragment_carries_the_opcode_and_the_rest_are_continuations()
    {
        var binary = new FragmentSequence(WebSocketMessageType.Binary);

        Assert.Equal(WebSocketOpcode.Binary, binary.Next([1], fin: false, "fragment"));
        Assert.Equal(WebSocketOpcode.Continuation, binary.Next([2], fin: false, "fragment"));
        Assert.Equal(WebSocketOpcode.Continuation, binary.Next([], fin: true, "fragment"));
    }

    [Fact]
    public void A_code_point_may_span_fragments_but_text_must_end_complete()
    {
        byte[] check = "✓"u8.ToArray();
        var split = new FragmentSequence(WebSocketMessageType.Text);
        Assert.Equal(WebSocketOpcode.Text, split.Next(check.AsSpan(0, 1), fin: false, "fragment"));
        Assert.Equal(WebSocketOpcode.Continuation, split.Next(check.AsSpan(1), fin: true, "fragment"));

        var truncated = new FragmentSequence(WebSocketMessageType.Text);
        truncated.Next(check.AsSpan(0, 2), fin: false, "fragment");
        Assert.Throws<ArgumentException>(() => truncated.Next([], fin: true, "fragment"));
    }
}
