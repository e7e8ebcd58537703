using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;

namespace AspNetWebSockets.RedisTests;

/// <summary>
/// Finds the Redis the tests share (<c>REDIS_TEST_ENDPOINT</c>, default 127.0.0.1:6390, started by ./build/start-redis.sh),
/// and starts private redis-server processes for tests that restart Redis. Missing Redis skips with the reason, or fails
/// under <c>CI=true</c>.
/// </summary>
internal static class RedisServer
{
    public static string Endpoint { get; } = Environment.GetEnvironmentVariable("REDIS_TEST_ENDPOINT") is { Length: > 0 } e ? e : "127.0.0.1:6390";

    private static bool IsCI => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Skips (or, in CI, fails) unless the shared Redis answers PING.</summary>
    public static async Task<string> RequireSharedAsync()
    {
        int colon = Endpoint.LastIndexOf(':');
        string host = Endpoint[..colon];
        int port = int.Parse(Endpoint[(colon + 1)..]);
        if (!await PingAsync(host, port))
        {
            Missing($"No Redis answers at {Endpoint} (REDIS_TEST_ENDPOINT); run ./build/start-redis.sh.");
        }

        return Endpoint;
    }

    /// <summary>Skips (or, in CI, fails) unless redis-server is installed.</summary>
    public static string RequireRedisServerBinary()
    {
        string? path = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "redis-server"))
            .FirstOrDefault(File.Exists);
        if (path is null)
        {
            Missing("redis-server is not installed (not on PATH); run ./build/start-redis.sh (it installs it).");
        }

        return path;
    }

    /// <summary>A private redis-server on a free loopback port, in the foreground of a child process, no persistence.</summary>
    public sealed class Private : IDisposable
    {
        private readonly string _binary;
        private Process? _process;

        public Private(string binary)
        {
            _binary = binary;
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            Port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
        }

        public int Port { get; }

        public string Endpoint => $"127.0.0.1:{Port}";

        public async Task StartAsync()
        {
            _process = Process.Start(new ProcessStartInfo(_binary, ["--bind", "127.0.0.1", "--port", Port.ToString(), "--save", "", "--appendonly", "no", "--dir", Path.GetTempPath()])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            _process.OutputDataReceived += static (_, _) => { };
            _process.ErrorDataReceived += static (_, _) => { };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
            for (int i = 0; i < 100; i++)
            {
                if (await PingAsync("127.0.0.1", Port))
                {
                    return;
                }

                await Task.Delay(50);
            }

            throw new InvalidOperationException($"redis-server did not start on port {Port}.");
        }

        /// <summary>Kills the server (as a crash would) and waits for it to exit.</summary>
        public async Task KillAsync()
        {
            if (_process is { HasExited: false } p)
            {
                p.Kill();
                await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }

        public void Dispose()
        {
            if (_process is { HasExited: false } p)
            {
                p.Kill();
                p.WaitForExit(5000);
            }

            _process?.Dispose();
        }
    }

    private static async Task<bool> PingAsync(string host, int port)
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await client.ConnectAsync(host, port, timeout.Token);
            NetworkStream stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), timeout.Token);
            byte[] reply = new byte[16];
            int read = await stream.ReadAsync(reply, timeout.Token);
            return read >= 5 && reply.AsSpan(0, 5).SequenceEqual("+PONG"u8);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
        {
            return false;
        }
    }

    [DoesNotReturn]
    private static void Missing(string message)
    {
        if (IsCI)
        {
            Assert.Fail($"{message} (CI=true: a missing prerequisite is a failure, not a skip.)");
        }

        Assert.Skip(message);
    }
}
