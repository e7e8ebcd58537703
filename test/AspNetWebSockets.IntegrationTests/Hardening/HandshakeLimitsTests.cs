using AspNetWebSockets.IntegrationTests.Hosting;

namespace AspNetWebSockets.IntegrationTests.Hardening;

/// <summary>
/// ADVISORIES 18, first bullet: an over-long request line or header section is refused by Kestrel's own limits
/// (request line 8 KiB → 414, headers 32 KiB in total → 431) before anything of ours runs, and the handler never runs.
/// </summary>
public sealed class HandshakeLimitsTests
{
    private static Task<TestApp> StartCountingAsync(Counter calls) =>
        TestApp.StartAsync(HardeningCollection.Transport, a => a.MapWebSocket("/ws", (WebSocketConnection socket) =>
        {
            calls.Increment();
            return Task.CompletedTask;
        }));

    [Fact]
    public async Task A_request_line_over_8_KiB_gets_414_ADVISORIES_18()
    {
        var calls = new Counter();
        await using TestApp app = await StartCountingAsync(calls);
        RawRequest request = RawRequest.Upgrade(app.HttpAddress, "/ws?pad=" + new string('a', 9 * 1024));

        RawResponse response = await RawHttp.SendAsync(app.HttpAddress, request);

        Assert.Equal(414, response.StatusCode);
        Assert.Equal(0, calls.Value);
    }

    [Theory]
    [InlineData(1, 40 * 1024)] // one header line of 40 KiB
    [InlineData(10, 4 * 1024)] // ten lines of 4 KiB: each short, together over the 32 KiB total
    public async Task A_header_section_over_32_KiB_gets_431_ADVISORIES_18(int lines, int length)
    {
        var calls = new Counter();
        await using TestApp app = await StartCountingAsync(calls);
        RawRequest request = RawRequest.Upgrade(app.HttpAddress);
        for (int i = 0; i < lines; i++)
        {
            request.Add($"X-Pad-{i}", new string('a', length));
        }

        RawResponse response = await RawHttp.SendAsync(app.HttpAddress, request);

        Assert.Equal(431, response.StatusCode);
        Assert.Equal(0, calls.Value);
    }

    [Fact]
    public async Task Just_under_the_limits_the_upgrade_succeeds()
    {
        var calls = new Counter();
        await using TestApp app = await StartCountingAsync(calls);
        RawRequest request = RawRequest.Upgrade(app.HttpAddress, "/ws?pad=" + new string('a', 7 * 1024)).Add("X-Pad", new string('a', 16 * 1024));

        RawResponse response = await RawHttp.SendAsync(app.HttpAddress, request);

        Assert.Equal(101, response.StatusCode);
    }
}
