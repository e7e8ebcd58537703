using AspNetWebSockets.Hosting;

namespace AspNetWebSockets.Tests.Hosting;

/// <summary>Unsafe or unusable option values are refused at startup with a message naming the option.</summary>
public sealed class WebSocketServerOptionsValidatorTests
{
    private static string? Validate(Action<WebSocketServerOptions> configure)
    {
        var options = new WebSocketServerOptions();
        configure(options);
        var result = new WebSocketServerOptionsValidator().Validate(null, options);
        return result.Succeeded ? null : result.FailureMessage;
    }

    [Fact]
    public void Defaults_are_valid() => Assert.Null(Validate(_ => { }));

    [Fact]
    public void Infinite_keep_alive_is_valid()
    {
        Assert.Null(Validate(o =>
        {
            o.KeepAliveInterval = Timeout.InfiniteTimeSpan;
            o.KeepAliveTimeout = Timeout.InfiniteTimeSpan;
        }));
    }

    public static TheoryData<string, Action<WebSocketServerOptions>> Invalid => new()
    {
        { "MaxMessageSize", o => o.MaxMessageSize = 0 },
        { "MaxFrameSize", o => o.MaxFrameSize = -1 },
        { "MaxFragmentsPerMessage", o => o.MaxFragmentsPerMessage = 0 },
        { "KeepAliveInterval", o => o.KeepAliveInterval = TimeSpan.Zero },
        { "KeepAliveTimeout", o => o.KeepAliveTimeout = TimeSpan.FromSeconds(-2) },
        { "CloseTimeout", o => o.CloseTimeout = Timeout.InfiniteTimeSpan },
        { "ShutdownTimeout", o => o.ShutdownTimeout = TimeSpan.Zero },
        { "bad token", o => o.SubProtocols.Add("bad token") },
        { "RequireSubProtocol", o => o.RequireSubProtocol = true },
        { "not an origin", o => o.AllowedOrigins.Add("not an origin") },
        { "https://example.com/path", o => o.AllowedOrigins.Add("https://example.com/path") },
        { "MaxConnectionLifetime", o => o.MaxConnectionLifetime = TimeSpan.Zero },
        { "ConnectionLifetimeJitter", o => (o.MaxConnectionLifetime, o.ConnectionLifetimeJitter) = (TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2)) },
        { "ConnectionLifetimeCloseCode", o => o.ConnectionLifetimeCloseCode = 1006 },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Invalid_values_are_refused_with_the_option_named(string expectedInMessage, Action<WebSocketServerOptions> configure)
    {
        string? failure = Validate(configure);

        Assert.NotNull(failure);
        Assert.Contains(expectedInMessage, failure, StringComparison.Ordinal);
    }

    // A URL with more than an origin in it can never match a browser's Origin header: refuse it at startup and say what
    // to write instead, rather than answering every browser with 403 forever.
    [Theory]
    [InlineData("https://example.com/app", "write 'https://example.com' instead")]
    [InlineData("https://example.com/?x=1", "write 'https://example.com' instead")]
    [InlineData("https://user:pw@example.com", "write 'https://example.com' instead")]
    [InlineData("HTTP://Example.com:80/path", "write 'http://example.com' instead")]
    [InlineData("https://example.com:8443/a", "write 'https://example.com:8443' instead")]
    public void An_origin_with_a_path_query_or_user_info_is_refused_with_what_to_write_instead(string origin, string expected)
    {
        string? failure = Validate(o => o.AllowedOrigins.Add(origin));

        Assert.NotNull(failure);
        Assert.Contains(expected, failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://example.com")]
    [InlineData("https://example.com/")] // the trailing slash people often write: the same origin
    [InlineData("http://localhost:5000/")]
    [InlineData("http://localhost:5000")]
    [InlineData("null")]
    public void Well_formed_origins_are_accepted(string origin) => Assert.Null(Validate(o => o.AllowedOrigins.Add(origin)));

    [Theory]
    [InlineData(30_000, 30_000, 1000)]
    [InlineData(100, 400, 25)]
    [InlineData(1000, 20, 10)]
    [InlineData(-1, -1, 1000)]
    public void Heartbeat_ticks_at_a_quarter_of_the_shorter_period_within_10ms_to_1s(int intervalMs, int timeoutMs, int expectedMs)
    {
        TimeSpan period = WebSocketHeartbeat.PeriodFor(TimeSpan.FromMilliseconds(intervalMs), TimeSpan.FromMilliseconds(timeoutMs));

        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), period);
    }
}
