using AspNetWebSockets.Hosting;

namespace AspNetWebSockets.Tests.Hosting;

/// <summary>The drain's schedule: one close per equal slice of the window, at a random moment of it.</summary>
public sealed class DrainSpreadTests
{
    [Fact]
    public void Each_close_falls_in_its_own_slice_of_the_window_in_ascending_order()
    {
        double[] offsets = WebSocketDrain.SpreadOffsets(1000, TimeSpan.FromSeconds(10), new Random(17));
        Assert.Equal(1000, offsets.Length);
        for (int i = 0; i < offsets.Length; i++)
        {
            Assert.InRange(offsets[i], i * 10.0, (i + 1) * 10.0);
        }

        Assert.True(offsets.Distinct().Count() > 990); // jittered, not on a grid
    }

    [Fact]
    public void A_zero_window_closes_everything_at_once()
    {
        Assert.All(WebSocketDrain.SpreadOffsets(50, TimeSpan.Zero, new Random(1)), o => Assert.Equal(0, o));
        Assert.Empty(WebSocketDrain.SpreadOffsets(0, TimeSpan.FromSeconds(1), new Random(1)));
    }
}
