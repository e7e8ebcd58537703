// Load generator and orchestrator for build/bench.sh.
// Starts the three echo servers (BenchServers --mode ours|builtin|rawtcp) once, then for every scenario runs
// rounds of A B C (interleaved), and prints/writes a markdown table of medians with A/B and A/C ratios.
// Client side: raw Sockets, pre-built masked frames, a window of messages in flight per connection,
// one send syscall per receive batch, per-message timestamps into per-connection latency histograms.
// Scenario 7 (permessage-deflate) runs A and B only: raw TCP cannot negotiate an extension.
// With --bun <binary> --bun-script <echo.js>, a fourth server D (Bun.serve, uWebSockets underneath) joins scenarios 1-4
// and 6; it has no deflate endpoint (7) and no "gc" command on stdin (5), so it sits those two out.
// With --event-loop, server E (BenchServers --mode ours --event-loop, with DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1
// in its environment: AspNetWebSockets' event-loop execution mode) runs right after A in every round.
// --servers LIST picks the servers and their order instead: ours (A), ours-el (E), ours-lean (H: --lean, lean
// connections, issue 15), ours-lean-el (I: --lean --event-loop), ours-lean-wks (J: H with the workstation GC,
// DOTNET_gcServer=0, README's setting for density), builtin (B), rawtcp (C), bun (D, needs --bun), ws (W:
// Node's ws, --ws-script build/bench/node/echo-server.js, run with node --expose-gc). Every server answers "gc" on stdin,
// so scenario 5 (idle connections) measures every server; --idle takes one count or several (10000,19000).
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LoadGen;

static class Program
{
    static async Task<int> Main(string[] args)
    {
        var o = Options.Parse(args);
        if (o.ServerCommand is null) { Console.Error.WriteLine("--server <path to BenchServers executable or .dll> is required"); return 2; }
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        ThreadPool.SetMinThreads(Environment.ProcessorCount * 2, Environment.ProcessorCount * 2);

        var started = Stopwatch.StartNew();
        var modes = new List<string> { "ours" };
        if (o.EventLoop) modes.Add("ours-el");
        modes.AddRange(["builtin", "rawtcp"]);
        if (o.BunCommand is not null) modes.Add("bun");
        if (o.Servers is not null) modes = o.Servers;
        var servers = new Dictionary<string, ServerProcess>();
        try
        {
            foreach (var m in modes) servers[m] = await ServerProcess.StartAsync(o, m);
            Console.Error.WriteLine($"servers: {string.Join(", ", modes.Select(m => $"{m} pid {servers[m].Pid} port {servers[m].Port}"))}");

            // Warm every server (JIT tiering, pools) and this process before anything is recorded.
            foreach (var m in modes)
            {
                var w = new Options { Warmup = o.GlobalWarmup, Duration = 0.2 };
                await Scenarios.Echo(w, servers[m], 0, connections: 100, window: 16, payload: 64, text: false);
                await Scenarios.Echo(w, servers[m], 0, connections: 10, window: 4, payload: 16 * 1024, text: false);
                await Scenarios.Echo(w, servers[m], 0, connections: 100, window: 16, payload: 64, text: true);
                if (servers[m].HasDeflateEndpoint)
                    await Scenarios.Echo(w, servers[m], 0, connections: 100, window: 16, payload: Scenarios.JsonAverageLength, text: true, deflate: true);
            }
            Console.Error.WriteLine($"warm-up done after {started.Elapsed.TotalSeconds:0}s");

            var results = new List<Result>();
            foreach (var sc in o.Scenarios)
            {
                for (int round = 1; round <= o.Rounds; round++)
                {
                    foreach (var m in modes)
                    {
                        var srv = servers[m];
                        if (sc == 7 && !srv.HasDeflateEndpoint) continue;
                        if (sc == 5 && !srv.CanReportHeap) continue;
                        if (sc == 5)
                        {
                            // One fresh server per count (Idle starts it), the counts in the order given.
                            foreach (int n in o.IdleConnections)
                            {
                                var idle = await Scenarios.Idle(o, srv, sc, n);
                                idle.Round = round;
                                results.Add(idle);
                                Console.Error.WriteLine($"  s{sc} r{round} {m,-7} {string.Join("  ", idle.Metrics.Select(kv => $"{kv.Key}={Fmt(kv.Value)}"))}");
                            }
                            continue;
                        }
                        Result r = sc switch
                        {
                            1 => await Scenarios.Echo(o, srv, sc, connections: 100, window: 16, payload: 64, text: false),
                            2 => await Scenarios.Echo(o, srv, sc, connections: 10, window: 4, payload: 16 * 1024, text: false),
                            3 => await Scenarios.Echo(o, srv, sc, connections: 1, window: 1, payload: 64, text: false),
                            4 => await Scenarios.Handshakes(o, srv, sc, parallel: 50),
                            6 => await Scenarios.Echo(o, srv, sc, connections: 100, window: 16, payload: 64, text: true),
                            7 => await Scenarios.Echo(o, srv, sc, connections: 100, window: 16, payload: Scenarios.JsonAverageLength, text: true, deflate: true),
                            _ => throw new ArgumentException($"unknown scenario {sc}"),
                        };
                        r.Round = round;
                        results.Add(r);
                        Console.Error.WriteLine($"  s{sc} r{round} {m,-7} {string.Join("  ", r.Metrics.Select(kv => $"{kv.Key}={Fmt(kv.Value)}"))}");
                    }
                }
            }
            var table = Report.Build(o, results, started.Elapsed);
            Console.WriteLine(table);
            if (o.Output is not null)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(o.Output))!);
                File.WriteAllText(o.Output, table);
                Console.Error.WriteLine($"wrote {o.Output}");
            }
            return 0;
        }
        finally
        {
            foreach (var s in servers.Values) s.Dispose();
        }
    }

    internal static string Fmt(double v) => v >= 100 ? v.ToString("N0") : v >= 10 ? v.ToString("0.0") : v.ToString("0.00");
}

sealed class Options
{
    public string? ServerCommand;
    public string? BunCommand, BunScript, WsScript;
    public string NodeCommand = "node";
    /// <summary>The servers and their order (--servers); null: A, [E,] B, C[, D] from the other options.</summary>
    public List<string>? Servers;
    public static readonly string[] KnownServers = ["ours", "ours-el", "ours-lean", "ours-lean-el", "ours-lean-wks", "builtin", "rawtcp", "bun", "ws"];
    public bool EventLoop;
    public int Rounds = 3;
    public double Warmup = 1.0, Duration = 3.0, HandshakeDuration = 2.0, GlobalWarmup = 2.0;
    /// <summary>Scenario 5's connection counts (--idle N[,N...]); each gets a fresh server.</summary>
    public List<int> IdleConnections = [10_000];
    public List<int> Scenarios = new() { 1, 3, 2, 5, 4, 6, 7 };
    public string? Output;
    public string CommandLine = "";

    public static Options Parse(string[] args)
    {
        var o = new Options { CommandLine = string.Join(' ', args) };
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => args[++i];
            switch (args[i])
            {
                case "--server": o.ServerCommand = Next(); break;
                case "--bun": o.BunCommand = Next(); break;
                case "--event-loop": o.EventLoop = true; break;
                case "--bun-script": o.BunScript = Next(); break;
                case "--rounds": o.Rounds = int.Parse(Next()); break;
                case "--warmup": o.Warmup = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--duration": o.Duration = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--handshake-duration": o.HandshakeDuration = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--idle": o.IdleConnections = Next().Split(',').Select(int.Parse).ToList(); break;
                case "--servers": o.Servers = Next().Split(',').ToList(); break;
                case "--ws-script": o.WsScript = Next(); break;
                case "--node": o.NodeCommand = Next(); break;
                case "--scenarios": o.Scenarios = Next().Split(',').Select(int.Parse).ToList(); break;
                case "--out": o.Output = Next(); break;
                case "--global-warmup": o.GlobalWarmup = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--quick":
                    o.Rounds = 1; o.Warmup = 0.3; o.Duration = 1.0; o.HandshakeDuration = 0.5; o.IdleConnections = [1000]; o.GlobalWarmup = 0.7; break;
                default: throw new ArgumentException($"unknown argument {args[i]}");
            }
        }
        if ((o.BunCommand is null) != (o.BunScript is null)) throw new ArgumentException("--bun and --bun-script go together");
        if (o.Servers is not null)
        {
            foreach (var m in o.Servers)
                if (!KnownServers.Contains(m)) throw new ArgumentException($"unknown server {m} (known: {string.Join(", ", KnownServers)})");
            if (o.Servers.Count != o.Servers.Distinct().Count()) throw new ArgumentException("--servers names a server twice");
            if (o.Servers.Contains("bun") && o.BunCommand is null) throw new ArgumentException("server bun needs --bun and --bun-script");
            if (o.Servers.Contains("ws") && o.WsScript is null) throw new ArgumentException("server ws needs --ws-script");
        }
        // Keep the idle-connection counts under this process's descriptor limit (the server has its own, the same).
        int limit = FdLimit();
        if (limit > 0)
        {
            for (int i = 0; i < o.IdleConnections.Count; i++)
            {
                if (o.IdleConnections[i] <= limit - 512) continue;
                Console.Error.WriteLine($"--idle {o.IdleConnections[i]} is over this process's descriptor limit ({limit}) less 512: using {Math.Max(100, limit - 512)}");
                o.IdleConnections[i] = Math.Max(100, limit - 512);
            }
        }
        return o;
    }

    static int FdLimit()
    {
        try
        {
            foreach (var l in File.ReadLines("/proc/self/limits"))
                if (l.StartsWith("Max open files"))
                    return int.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3]);
        }
        catch { }
        return -1;
    }
}

sealed class Result
{
    public required int Scenario;
    public required string Mode;
    public int Round;
    public Dictionary<string, double> Metrics = new();
}

/// <summary>One echo server child process: its port, pid, CPU ticks and a "gc" command over stdin.</summary>
sealed class ServerProcess : IDisposable
{
    readonly Process _p;
    public int Port { get; private set; }
    public int Pid => _p.Id;
    public string Mode { get; }
    public bool IsWebSocket => Mode != "rawtcp";
    /// <summary>Only BenchServers maps /echo-deflate (scenario 7).</summary>
    public bool HasDeflateEndpoint => Mode is "ours" or "ours-el" or "ours-lean" or "ours-lean-el" or "ours-lean-wks" or "builtin";
    /// <summary>Every server answers "gc" on stdin (Bun and Node too), so every one takes part in scenario 5.</summary>
    public bool CanReportHeap => true;

    ServerProcess(Process p, string mode) { _p = p; Mode = mode; }

    public static async Task<ServerProcess> StartAsync(Options o, string mode)
    {
        string command = o.ServerCommand!;
        // E is A's server in the event-loop mode; the runtime reads the inline-completions switch once, at the first
        // socket, so it goes into the child's environment as well (the server checks it took effect). H and I are A and
        // E with lean connections (--lean).
        string serverMode = mode is "ours-el" or "ours-lean" or "ours-lean-el" or "ours-lean-wks" ? "ours" : mode;
        var psi = mode == "bun"
            ? new ProcessStartInfo(o.BunCommand!) { ArgumentList = { o.BunScript! } }
            : mode == "ws"
            ? new ProcessStartInfo(o.NodeCommand) { ArgumentList = { "--expose-gc", o.WsScript! } }
            : command.EndsWith(".dll")
            ? new ProcessStartInfo("dotnet") { ArgumentList = { command, "--mode", serverMode } }
            : new ProcessStartInfo(command) { ArgumentList = { "--mode", serverMode } };
        if (mode is "ours-lean" or "ours-lean-el" or "ours-lean-wks") psi.ArgumentList.Add("--lean");
        if (mode is "ours-lean-wks") psi.Environment["DOTNET_gcServer"] = "0";
        // I runs one event loop, as Bun runs its server on one thread (WebSocketEventLoopOptions.LoopCount).
        if (mode is "ours-lean-el") { psi.ArgumentList.Add("--loops"); psi.ArgumentList.Add("1"); }
        if (mode is "ours-el" or "ours-lean-el")
        {
            psi.ArgumentList.Add("--event-loop");
            psi.Environment["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "1";
        }
        psi.RedirectStandardInput = true;
        psi.RedirectStandardOutput = true;
        psi.UseShellExecute = false;
        var p = Process.Start(psi)!;
        var s = new ServerProcess(p, mode);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var line = await p.StandardOutput.ReadLineAsync(cts.Token) ?? throw new Exception($"server {mode} exited before printing its port");
            if (line.StartsWith("PORT ")) { s.Port = int.Parse(line.AsSpan(5)); break; }
        }
        return s;
    }

    /// <summary>utime+stime of the server, in clock ticks (1/100 s).</summary>
    public long CpuTicks()
    {
        var stat = File.ReadAllText($"/proc/{Pid}/stat");
        var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(f[11]) + long.Parse(f[12]);
    }

    /// <summary>
    /// Asks the server to run a full GC; returns its VmRSS and managed heap bytes afterwards, and the GC's committed bytes
    /// when the server reports them (BenchServers' "committed="; -1 from Bun and Node).
    /// </summary>
    public async Task<(long Rss, long Heap, long Committed)> GcAsync(bool aggressive = false)
    {
        // "gc-aggressive" (BenchServers only): GCCollectionMode.Aggressive, which also gives the GC's free space back to the OS.
        await _p.StandardInput.WriteLineAsync(aggressive ? "gc-aggressive" : "gc");
        await _p.StandardInput.FlushAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var line = await _p.StandardOutput.ReadLineAsync(cts.Token) ?? throw new Exception("server exited");
            if (line.StartsWith("GC "))
            {
                var f = line.Split(' ');
                // BenchServers add committed=; Bun and Node report RSS and heap only.
                var committed = f.FirstOrDefault(x => x.StartsWith("committed="));
                return (long.Parse(f[1]), long.Parse(f[2]), committed is null ? -1 : long.Parse(committed["committed=".Length..]));
            }
        }
    }

    public void Dispose()
    {
        try { _p.StandardInput.WriteLine("quit"); _p.StandardInput.Flush(); } catch { }
        if (!_p.WaitForExit(5000)) { try { _p.Kill(); } catch { } }
        _p.Dispose();
    }
}

/// <summary>Latency histogram in nanoseconds: 1 µs buckets to 1 ms, 10 µs to 10 ms, 1 ms to 1 s, then overflow.</summary>
sealed class Histogram
{
    const int Buckets = 1000 + 900 + 990 + 1;
    public readonly long[] Counts = new long[Buckets];

    public void Record(long ns)
    {
        long us = ns / 1000;
        int i = us < 1000 ? (int)us : us < 10_000 ? 1000 + (int)((us - 1000) / 10) : us < 1_000_000 ? 1900 + (int)((us - 10_000) / 1000) : Buckets - 1;
        Counts[i]++;
    }

    public void Add(Histogram other) { for (int i = 0; i < Buckets; i++) Counts[i] += other.Counts[i]; }

    static double BucketMidUs(int i) => i < 1000 ? i + 0.5 : i < 1900 ? 1000 + (i - 1000) * 10 + 5 : i < 2890 ? 10_000 + (i - 1900) * 1000 + 500 : 1_000_000;

    public double PercentileUs(double p)
    {
        long total = Counts.Sum();
        if (total == 0) return double.NaN;
        long target = (long)Math.Ceiling(total * p);
        long seen = 0;
        for (int i = 0; i < Buckets; i++) { seen += Counts[i]; if (seen >= target) return BucketMidUs(i); }
        return double.NaN;
    }
}

static class Client
{
    static readonly byte[] UpgradeTail = Encoding.ASCII.GetBytes(
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");

    public static byte[] UpgradeRequest(int port, string path = "/echo", string? extensions = null) =>
        Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            + (extensions is null ? "" : $"Sec-WebSocket-Extensions: {extensions}\r\n")).Concat(UpgradeTail).ToArray();

    /// <summary>A masked client frame (FIN set) of the given opcode and payload; `rsv1` marks a compressed message.</summary>
    public static byte[] MaskedFrame(byte opcode, ReadOnlySpan<byte> payload, bool rsv1 = false)
    {
        int len = payload.Length;
        int hdr = 2 + (len < 126 ? 0 : len <= ushort.MaxValue ? 2 : 8) + 4;
        var f = new byte[hdr + len];
        f[0] = (byte)(0x80 | (rsv1 ? 0x40 : 0) | opcode);
        int p = 2;
        if (len < 126) f[1] = (byte)(0x80 | len);
        else if (len <= ushort.MaxValue) { f[1] = 0x80 | 126; f[2] = (byte)(len >> 8); f[3] = (byte)len; p = 4; }
        else { f[1] = 0x80 | 127; for (int i = 0; i < 8; i++) f[2 + i] = (byte)((long)len >> (56 - 8 * i)); p = 10; }
        var key = new byte[4];
        Random.Shared.NextBytes(key);
        key.CopyTo(f, p);
        p += 4;
        for (int i = 0; i < len; i++) f[p + i] = (byte)(payload[i] ^ key[i & 3]);
        return f;
    }

    /// <summary>
    /// Connects to 127.0.0.1:port and, for WebSocket servers, performs the upgrade by hand. With `requireExtension`,
    /// the 101 must accept that extension (a server that declines the offer still answers 101, without it).
    /// </summary>
    public static async Task<Socket> ConnectAsync(int port, bool websocket, byte[] upgrade, CancellationToken ct, string? requireExtension = null)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await s.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), ct);
            if (websocket)
            {
                await s.SendAsync(upgrade, SocketFlags.None, ct);
                var buf = new byte[1024];
                int have = 0;
                while (true)
                {
                    int n = await s.ReceiveAsync(buf.AsMemory(have), SocketFlags.None, ct);
                    if (n == 0) throw new IOException("connection closed during handshake");
                    have += n;
                    if (buf.AsSpan(0, have).IndexOf("\r\n\r\n"u8) >= 0) break;
                    if (have == buf.Length) throw new IOException("handshake response too large");
                }
                if (!buf.AsSpan(0, have).StartsWith("HTTP/1.1 101"u8))
                    throw new IOException("upgrade refused: " + Encoding.ASCII.GetString(buf, 0, Math.Min(have, 200)));
                if (requireExtension is not null && !Accepts(Encoding.ASCII.GetString(buf, 0, have), requireExtension))
                    throw new IOException($"the server did not accept {requireExtension}:\n" + Encoding.ASCII.GetString(buf, 0, have));
            }
            return s;
        }
        catch { s.Dispose(); throw; }
    }

    static bool Accepts(string response, string extension) =>
        response.Split("\r\n").Any(line =>
            line.StartsWith("Sec-WebSocket-Extensions:", StringComparison.OrdinalIgnoreCase)
            && line["Sec-WebSocket-Extensions:".Length..].TrimStart().StartsWith(extension, StringComparison.Ordinal));

    /// <summary>
    /// Sends one compressed text message and checks its echo: one final text frame with RSV1 set whose body inflates to
    /// `original`. It must be the connection's first echo: only the first message of the server's compression context
    /// (server context takeover is on) refers to nothing before it, so only it can be decoded alone.
    /// </summary>
    public static async Task VerifyDeflateEchoAsync(Socket s, byte[] frame, byte[] original, CancellationToken ct)
    {
        await s.SendAsync(frame, SocketFlags.None, ct);
        var head = new byte[4];
        await ReceiveExactlyAsync(s, head.AsMemory(0, 2), ct);
        if (head[0] != 0xC1) throw new InvalidDataException($"expected a final compressed text frame (first byte C1), got {head[0]:X2}");
        int len = head[1] & 0x7F;
        // A server frame is unmasked, and a compressed ~1 KiB message needs no 64-bit length.
        if ((head[1] & 0x80) != 0 || len == 127) throw new InvalidDataException($"unexpected second header byte {head[1]:X2}");
        if (len == 126)
        {
            await ReceiveExactlyAsync(s, head.AsMemory(2, 2), ct);
            len = (head[2] << 8) | head[3];
        }
        var body = new byte[len];
        await ReceiveExactlyAsync(s, body, ct);
        if (!PerMessageDeflate.Decompress(body).AsSpan().SequenceEqual(original))
            throw new InvalidDataException("the echoed message does not inflate to the message sent");
    }

    /// <summary>Receives exactly `buffer.Length` bytes; the peer closing first is an error.</summary>
    public static async Task ReceiveExactlyAsync(Socket s, Memory<byte> buffer, CancellationToken ct)
    {
        for (int got = 0; got < buffer.Length;)
        {
            int n = await s.ReceiveAsync(buffer[got..], SocketFlags.None, ct);
            if (n == 0) throw new IOException("connection closed");
            got += n;
        }
    }
}

/// <summary>permessage-deflate message bodies (RFC 7692 §7.2.1): raw deflate ending in a sync flush, minus its 00 00 FF FF.</summary>
static class PerMessageDeflate
{
    static readonly byte[] SyncFlushTail = { 0x00, 0x00, 0xFF, 0xFF };

    /// <summary>Compresses with a fresh context, as a client that offered client_no_context_takeover must.</summary>
    public static byte[] Compress(byte[] message)
    {
        var output = new MemoryStream();
        using var deflate = new DeflateStream(output, CompressionLevel.Optimal, leaveOpen: true);
        deflate.Write(message);
        deflate.Flush(); // a sync flush; the bytes the final block adds on Dispose are not part of the message
        var body = output.ToArray();
        if (!body.AsSpan().EndsWith(SyncFlushTail)) throw new InvalidOperationException("DeflateStream.Flush did not end in a sync flush");
        return body[..^SyncFlushTail.Length];
    }

    public static byte[] Decompress(byte[] body)
    {
        var input = new MemoryStream();
        input.Write(body);
        input.Write(SyncFlushTail);
        input.Position = 0;
        using var inflate = new DeflateStream(input, CompressionMode.Decompress);
        var output = new MemoryStream();
        inflate.CopyTo(output);
        return output.ToArray();
    }
}

/// <summary>One echo connection: keeps `window` frames in flight, re-sending as many as came back.</summary>
sealed class EchoConnection
{
    readonly Socket _s;
    // The ring of pre-built masked frames, laid out once and then its first `window` frames again, so any run of up to
    // `window` consecutive frames from any start is contiguous: each resend is one send syscall. Scenarios 1-6 ring one frame.
    readonly byte[] _block;
    readonly int[] _offsets;  // _offsets[i] = start of frame i in _block; _offsets[ring + window] = its end
    readonly int _ring, _maxFrameLen, _window;
    int _next;                // ring index of the next frame to send
    readonly bool _compressed;
    readonly long[] _sentAt;
    int _head, _tail;
    public long Messages, BytesReceived;
    public readonly Histogram Latency = new();
    public static volatile bool Recording;
    public Exception? Error;

    public EchoConnection(Socket s, byte[][] frames, int window, bool compressed)
    {
        _s = s; _ring = frames.Length; _window = window; _compressed = compressed; _sentAt = new long[window];
        _offsets = new int[_ring + window + 1];
        for (int i = 0; i < _ring + window; i++) _offsets[i + 1] = _offsets[i] + frames[i % _ring].Length;
        _block = new byte[_offsets[^1]];
        for (int i = 0; i < _ring + window; i++) frames[i % _ring].CopyTo(_block, _offsets[i]);
        _maxFrameLen = frames.Max(f => f.Length);
    }

    /// <summary>The next `count` frames of the ring, as one contiguous slice.</summary>
    ReadOnlyMemory<byte> Take(int count)
    {
        var slice = _block.AsMemory(_offsets[_next], _offsets[_next + count] - _offsets[_next]);
        _next = (_next + count) % _ring;
        return slice;
    }

    public async Task RunAsync(CancellationToken stop)
    {
        var rbuf = new byte[Math.Max(64 * 1024, _maxFrameLen * 2 + 64)];
        int have = 0;
        try
        {
            long now = Stopwatch.GetTimestamp();
            for (int i = 0; i < _window; i++) { _sentAt[_tail] = now; _tail = (_tail + 1) % _window; }
            await _s.SendAsync(Take(_window), SocketFlags.None);
            while (!stop.IsCancellationRequested)
            {
                int n = await _s.ReceiveAsync(rbuf.AsMemory(have), SocketFlags.None);
                if (n == 0) { Error ??= new IOException("server closed the connection"); return; }
                have += n;
                Volatile.Write(ref BytesReceived, BytesReceived + n);
                int pos = 0, completed = 0;
                while (have - pos >= 2)
                {
                    byte b0 = rbuf[pos], b1 = rbuf[pos + 1];
                    int len7 = b1 & 0x7F;
                    int hdr = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((b1 & 0x80) != 0 ? 4 : 0);
                    if (have - pos < hdr) break;
                    long len = len7 < 126 ? len7
                        : len7 == 126 ? (rbuf[pos + 2] << 8) | rbuf[pos + 3]
                        : (long)System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(rbuf.AsSpan(pos + 2));
                    if (have - pos < hdr + len) break;
                    pos += hdr + (int)len;
                    int opcode = b0 & 0x0F;
                    if (opcode == 0x8) { Error ??= new IOException("server sent close"); return; }
                    // RSV1 on a message's first frame means compressed (RFC 7692 §6): always when permessage-deflate
                    // was negotiated (both servers compress every message this size), never otherwise.
                    if (opcode is 0x1 or 0x2 && ((b0 & 0x40) != 0) != _compressed)
                    {
                        Error ??= new InvalidDataException($"data frame with RSV1 {((b0 & 0x40) != 0 ? "set" : "clear")}");
                        return;
                    }
                    if (opcode < 0x8 && (b0 & 0x80) != 0) completed++;
                }
                if (pos > 0 && pos < have) Buffer.BlockCopy(rbuf, pos, rbuf, 0, have - pos);
                have -= pos;
                if (have == rbuf.Length) throw new InvalidOperationException("frame larger than receive buffer");
                if (completed == 0) continue;
                now = Stopwatch.GetTimestamp();
                bool rec = Recording;
                for (int i = 0; i < completed; i++)
                {
                    if (rec) Latency.Record((long)((now - _sentAt[_head]) * (1e9 / Stopwatch.Frequency)));
                    _sentAt[_head] = 0;
                    _head = (_head + 1) % _window;
                }
                Volatile.Write(ref Messages, Messages + completed);
                if (stop.IsCancellationRequested) break;
                for (int i = 0; i < completed; i++) { _sentAt[_tail] = now; _tail = (_tail + 1) % _window; }
                await _s.SendAsync(Take(completed), SocketFlags.None);
            }
        }
        catch (Exception e) when (stop.IsCancellationRequested && e is SocketException or ObjectDisposedException or OperationCanceledException) { }
        catch (Exception e) { Error ??= e; }
    }
}

static class Scenarios
{
    static readonly byte[] TextPayload = BuildText(64);
    // Scenario 7 sends 48 distinct JSON messages in turn, about 45 KB in all: more than a 32 KiB deflate window holds, so
    // the server's compression context helps with what messages share (keys, names) but never finds a whole message
    // again. With one repeated message every reply would be a back-reference of a few bytes, the cheap case.
    public static readonly byte[][] JsonMessages = Enumerable.Range(0, 48).Select(i => BuildJson(1024, seed: 7 + i)).ToArray();
    public static readonly byte[][] JsonDeflated = JsonMessages.Select(PerMessageDeflate.Compress).ToArray();
    public static readonly int JsonAverageLength = (int)JsonMessages.Average(m => m.Length);
    public static readonly int JsonAverageDeflated = (int)JsonDeflated.Average(m => m.Length);
    // client_no_context_takeover: every message is compressed alone, so the pre-built frames are valid in any order.
    const string DeflateOffer = "permessage-deflate; client_no_context_takeover";

    static byte[] BuildText(int size)
    {
        // Mixed ASCII and 2-byte UTF-8 ("aé" = 3 bytes), padded with ASCII to exactly `size` bytes.
        var b = new List<byte>();
        var unit = Encoding.UTF8.GetBytes("aé");
        while (b.Count + unit.Length <= size) b.AddRange(unit);
        while (b.Count < size) b.Add((byte)'z');
        return b.ToArray();
    }

    static byte[] BuildJson(int maxSize, int seed)
    {
        // An array of trade-like records with varied values (fixed seed), as many whole records as fit in `maxSize`:
        // the repeated keys compress well, the numbers much less.
        string[] users = { "alice", "bob", "carol", "dmitri", "emeka", "fatima", "gustavo", "hiroshi", "ingrid", "jamal" };
        string[] symbols = { "AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "TSLA", "META", "ORCL" };
        string[] venues = { "XNAS", "XNYS", "BATS", "ARCX", "IEXG" };
        var rng = new Random(seed);
        var sb = new StringBuilder("[");
        long ts = 1_764_000_000_000;
        while (true)
        {
            ts += rng.Next(1, 5000);
            string rec = $"{{\"id\":{rng.Next(100_000, 999_999)},\"user\":\"{users[rng.Next(users.Length)]}\",\"symbol\":\"{symbols[rng.Next(symbols.Length)]}\","
                + $"\"side\":\"{(rng.Next(2) == 0 ? "buy" : "sell")}\",\"qty\":{rng.Next(1, 1000)},\"price\":{rng.Next(1000, 100_000) / 100.0:0.00},"
                + $"\"venue\":\"{venues[rng.Next(venues.Length)]}\",\"ts\":{ts}}}";
            if (sb.Length + 1 + rec.Length + 1 > maxSize) break;
            if (sb.Length > 1) sb.Append(',');
            sb.Append(rec);
        }
        return Encoding.ASCII.GetBytes(sb.Append(']').ToString());
    }

    static double ProcessCpuSeconds() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    /// <summary>
    /// `deflate` (scenario 7): the JSON texts, each compressed once, to /echo-deflate after offering permessage-deflate;
    /// every connection first checks one echo by inflating it.
    /// </summary>
    public static async Task<Result> Echo(Options o, ServerProcess srv, int scenario, int connections, int window, int payload, bool text, bool deflate = false)
    {
        byte[][] frames;
        if (deflate) frames = JsonDeflated.Select(d => Client.MaskedFrame(0x1, d, rsv1: true)).ToArray();
        else if (text) frames = [Client.MaskedFrame(0x1, TextPayload)];
        else
        {
            var data = new byte[payload];
            new Random(payload).NextBytes(data);
            frames = [Client.MaskedFrame(0x2, data)];
        }
        var upgrade = deflate ? Client.UpgradeRequest(srv.Port, "/echo-deflate", DeflateOffer) : Client.UpgradeRequest(srv.Port);

        using var setup = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var sockets = new Socket[connections];
        await Parallel.ForEachAsync(Enumerable.Range(0, connections), new ParallelOptions { MaxDegreeOfParallelism = 50, CancellationToken = setup.Token },
            async (i, ct) =>
            {
                sockets[i] = await Client.ConnectAsync(srv.Port, srv.IsWebSocket, upgrade, ct, deflate ? "permessage-deflate" : null);
                if (deflate) await Client.VerifyDeflateEchoAsync(sockets[i], frames[0], JsonMessages[0], ct);
            });

        var conns = sockets.Select(s => new EchoConnection(s, frames, window, deflate)).ToArray();
        using var stop = new CancellationTokenSource();
        EchoConnection.Recording = false;
        var tasks = conns.Select(c => Task.Run(() => c.RunAsync(stop.Token))).ToArray();

        await Task.Delay(TimeSpan.FromSeconds(o.Warmup));
        long m0 = conns.Sum(c => Volatile.Read(ref c.Messages));
        long b0 = conns.Sum(c => Volatile.Read(ref c.BytesReceived));
        long s0 = srv.CpuTicks();
        double l0 = ProcessCpuSeconds();
        var sw = Stopwatch.StartNew();
        EchoConnection.Recording = true;
        await Task.Delay(TimeSpan.FromSeconds(o.Duration));
        EchoConnection.Recording = false;
        long m1 = conns.Sum(c => Volatile.Read(ref c.Messages));
        long b1 = conns.Sum(c => Volatile.Read(ref c.BytesReceived));
        double elapsed = sw.Elapsed.TotalSeconds;
        long s1 = srv.CpuTicks();
        double l1 = ProcessCpuSeconds();

        stop.Cancel();
        foreach (var s in sockets) s.Dispose();
        await Task.WhenAny(Task.WhenAll(tasks), Task.Delay(5000));
        var err = conns.Select(c => c.Error).FirstOrDefault(e => e != null);
        // A protocol violation (a wrong RSV1) means the numbers measure something else: stop the run.
        if (err is InvalidDataException) throw new InvalidDataException($"{srv.Mode} s{scenario}: {err.Message}");
        if (err != null) Console.Error.WriteLine($"  warning: {srv.Mode} s{scenario}: {err.GetType().Name}: {err.Message}");

        var h = new Histogram();
        foreach (var c in conns) h.Add(c.Latency);
        long msgs = m1 - m0;
        var r = new Result { Scenario = scenario, Mode = srv.Mode };
        r.Metrics["msgs/s"] = msgs / elapsed;
        r.Metrics["MB/s"] = msgs * (double)payload / elapsed / 1e6;
        r.Metrics["p50 µs"] = h.PercentileUs(0.50);
        r.Metrics["p99 µs"] = h.PercentileUs(0.99);
        r.Metrics["server CPU µs/msg"] = msgs == 0 ? double.NaN : (s1 - s0) * 10_000.0 / msgs;
        r.Metrics["loadgen CPU µs/msg"] = msgs == 0 ? double.NaN : (l1 - l0) * 1e6 / msgs;
        r.Metrics["server CPU %"] = (s1 - s0) / elapsed; // ticks are 1/100 s, so ticks/s = percent of one core
        r.Metrics["echo wire bytes/msg"] = msgs == 0 ? double.NaN : (b1 - b0) / (double)msgs; // frame headers included
        return r;
    }

    public static async Task<Result> Handshakes(Options o, ServerProcess srv, int scenario, int parallel)
    {
        var upgrade = Client.UpgradeRequest(srv.Port);
        var close = Client.MaskedFrame(0x8, new byte[] { 0x03, 0xE8 }); // 1000
        long count = 0, failures = 0;
        bool measuring = false;
        using var stop = new CancellationTokenSource();
        async Task Worker()
        {
            var buf = new byte[256];
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var s = await Client.ConnectAsync(srv.Port, srv.IsWebSocket, upgrade, stop.Token);
                    await s.SendAsync(close, SocketFlags.None, stop.Token);
                    if (srv.IsWebSocket)
                    {
                        // Read the close reply and then the server's FIN (the server closes TCP first).
                        while (await s.ReceiveAsync(buf, SocketFlags.None, stop.Token) > 0) { }
                    }
                    else
                    {
                        int got = 0;
                        while (got < close.Length) { int n = await s.ReceiveAsync(buf, SocketFlags.None, stop.Token); if (n == 0) break; got += n; }
                    }
                    if (Volatile.Read(ref measuring)) Interlocked.Increment(ref count);
                }
                catch (Exception) when (stop.IsCancellationRequested) { }
                catch (Exception) { Interlocked.Increment(ref failures); }
            }
        }
        var tasks = Enumerable.Range(0, parallel).Select(_ => Task.Run(Worker)).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(Math.Min(o.Warmup, 1.0)));
        long s0 = srv.CpuTicks();
        double l0 = ProcessCpuSeconds();
        var sw = Stopwatch.StartNew();
        Volatile.Write(ref measuring, true);
        await Task.Delay(TimeSpan.FromSeconds(o.HandshakeDuration));
        Volatile.Write(ref measuring, false);
        double elapsed = sw.Elapsed.TotalSeconds;
        long s1 = srv.CpuTicks();
        double l1 = ProcessCpuSeconds();
        long n = Interlocked.Read(ref count);
        stop.Cancel();
        await Task.WhenAny(Task.WhenAll(tasks), Task.Delay(5000));
        if (failures > 0) Console.Error.WriteLine($"  warning: {srv.Mode} s{scenario}: {failures} failed connections");
        var r = new Result { Scenario = scenario, Mode = srv.Mode };
        r.Metrics["handshakes/s"] = n / elapsed;
        r.Metrics["server CPU µs/handshake"] = n == 0 ? double.NaN : (s1 - s0) * 10_000.0 / n;
        r.Metrics["loadgen CPU µs/handshake"] = n == 0 ? double.NaN : (l1 - l0) * 1e6 / n;
        r.Metrics["failures"] = failures;
        return r;
    }

    public static async Task<Result> Idle(Options o, ServerProcess shared, int scenario, int n)
    {
        // A fresh server process per measurement: RSS of a process that already ran load keeps freed pages,
        // which would hide the growth. The shared (warm) server is not used here.
        using var srv = await ServerProcess.StartAsync(o, shared.Mode);
        var upgrade = Client.UpgradeRequest(srv.Port);
        var ping = Client.MaskedFrame(0x2, new byte[] { 1 });
        // Warm up. The .NET servers get three bursts of n connections, opened and closed: with one of 500, the measured
        // burst still paid one-time costs — tiered compilation's later tiers, their code, and the native memory the JIT
        // frees after each method but glibc keeps — about 600 B of RSS per connection at 10,000 (the floor matched the
        // warm one with tiered PGO off). Their baseline is then taken after an aggressive GC, which gives back the memory
        // the bursts left free. Bun and Node cannot give it back, so bursts would let their connections reuse it and
        // look smaller than they are: they keep one burst of 500.
        bool dotnet = (await srv.GcAsync()).Committed >= 0;
        for (int burst = 0; burst < (dotnet ? 3 : 1); burst++)
        {
            await OpenAndClose(srv, upgrade, ping, dotnet ? n : 500);
            await Task.Delay(dotnet ? 2000 : 300); // the server notices the closes; the tiering thread compiles what got hot
        }

        var before = await srv.GcAsync();
        // The RSS floor: what the connections hold once the GC has given its free space back (BenchServers report
        // committed bytes and answer "gc-aggressive"; Bun and Node do not).
        var beforeFloor = dotnet ? await srv.GcAsync(aggressive: true) : default;

        var sockets = new Socket[n];
        using var setup = new CancellationTokenSource(SetupTimeout(n));
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, n), new ParallelOptions { MaxDegreeOfParallelism = 50, CancellationToken = setup.Token },
                async (i, ct) => sockets[i] = await OpenOne(srv, upgrade, ping, ct));
            await Task.Delay(1000);
            var after = await srv.GcAsync();

            var r = new Result { Scenario = scenario, Mode = srv.Mode };
            // Against the .NET servers' aggressive baseline, the RSS growth includes the reserve the GC keeps committed
            // after a normal collection; the floor does not.
            var baseline = dotnet ? beforeFloor : before;
            r.Metrics[IdleMetric("RSS bytes/conn", n)] = (after.Rss - baseline.Rss) / (double)n;
            r.Metrics[IdleMetric("heap bytes/conn", n)] = (after.Heap - before.Heap) / (double)n;
            r.Metrics[IdleMetric("GC committed bytes/conn", n)] = dotnet ? (after.Committed - baseline.Committed) / (double)n : double.NaN;
            var afterFloor = dotnet ? await srv.GcAsync(aggressive: true) : default;
            r.Metrics[IdleMetric("RSS floor bytes/conn", n)] = dotnet ? (afterFloor.Rss - beforeFloor.Rss) / (double)n : double.NaN;
            return r;
        }
        finally
        {
            foreach (var s in sockets) s?.Dispose();
            await Task.Delay(1000);
        }
    }

    /// <summary>60 s, and 10 s more per 1,000 connections over 5,000: a loaded 2-core machine opens ~1,000-3,000 a second.</summary>
    static TimeSpan SetupTimeout(int connections) => TimeSpan.FromSeconds(60 + Math.Max(0, connections - 5000) / 100);

    /// <summary>Scenario 5's metric names carry the connection count, so one table holds every count.</summary>
    public static string IdleMetric(string what, int connections) => $"{what} at {connections:N0}";

    static async Task OpenAndClose(ServerProcess srv, byte[] upgrade, byte[] ping, int count)
    {
        using var cts = new CancellationTokenSource(SetupTimeout(count));
        var socks = new Socket[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 50, CancellationToken = cts.Token },
            async (i, ct) => socks[i] = await OpenOne(srv, upgrade, ping, ct));
        foreach (var s in socks) s.Dispose();
    }

    /// <summary>Opens a connection and echoes one 1-byte message through it, so the server's handler is running and has read once.</summary>
    static async Task<Socket> OpenOne(ServerProcess srv, byte[] upgrade, byte[] msg, CancellationToken ct)
    {
        var s = await Client.ConnectAsync(srv.Port, srv.IsWebSocket, upgrade, ct);
        await s.SendAsync(msg, SocketFlags.None, ct);
        await Client.ReceiveExactlyAsync(s, new byte[srv.IsWebSocket ? 3 : msg.Length], ct);
        return s;
    }
}

static class Report
{
    static readonly (int Scenario, string Title, string[] Metrics)[] Layout =
    {
        (1, "(1) 64 B binary echo, 100 conn × 16 in flight", new[] { "msgs/s", "p50 µs", "p99 µs", "server CPU µs/msg", "loadgen CPU µs/msg", "server CPU %" }),
        (2, "(2) 16 KiB binary echo, 10 conn × 4 in flight", new[] { "MB/s", "msgs/s", "p50 µs", "p99 µs", "server CPU µs/msg", "loadgen CPU µs/msg", "server CPU %" }),
        (3, "(3) 64 B binary, 1 conn × 1 in flight", new[] { "p50 µs", "p99 µs", "msgs/s", "server CPU µs/msg", "loadgen CPU µs/msg" }),
        (4, "(4) connect+upgrade+close, 50 parallel", new[] { "handshakes/s", "server CPU µs/handshake", "loadgen CPU µs/handshake", "failures" }),
        (5, "(5) idle WebSocket connections, fresh server, delta after GC", new[] { "RSS bytes/conn", "heap bytes/conn", "GC committed bytes/conn", "RSS floor bytes/conn" }),
        (6, "(6) 64 B text (UTF-8), 100 conn × 16 in flight", new[] { "msgs/s", "p50 µs", "p99 µs", "server CPU µs/msg", "loadgen CPU µs/msg", "server CPU %" }),
        (7, $"(7) 48 distinct JSON texts of {Scenarios.JsonAverageLength:N0} B on average, permessage-deflate (the client sends {Scenarios.JsonAverageDeflated} B), 100 conn × 16 in flight",
            new[] { "MB/s", "msgs/s", "p50 µs", "p99 µs", "server CPU µs/msg", "loadgen CPU µs/msg", "server CPU %", "echo wire bytes/msg" }),
    };

    static double Median(IEnumerable<double> xs)
    {
        var a = xs.Where(x => !double.IsNaN(x)).OrderBy(x => x).ToArray();
        if (a.Length == 0) return double.NaN;
        return a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2;
    }

    static string F(double v) => double.IsNaN(v) ? "–" : Program.Fmt(v);

    /// <summary>Column letter and title of every server, in the order the columns may appear.</summary>
    static readonly (string Mode, string Letter, string Title, string Legend)[] Servers =
    {
        ("ours", "A", "A ours", "A = AspNetWebSockets MapWebSocket"),
        ("ours-el", "E", "E ours event-loop", "E = A in the event-loop mode (UseWebSocketEventLoop(): inline scheduling, inline socket completions)"),
        ("ours-lean", "H", "H ours lean", "H = A with lean connections (LeanConnections: our epoll transport; after the 101 the socket goes to the WebSocket and the HTTP request ends)"),
        ("ours-lean-el", "I", "I ours lean event-loop", "I = H in the event-loop mode, on one event loop (LoopCount = 1), as Bun runs on one thread"),
        ("ours-lean-wks", "J", "J ours lean, workstation GC", "J = H with the workstation GC (DOTNET_gcServer=0), the setting README names for density"),
        ("builtin", "B", "B built-in", "B = ASP.NET Core UseWebSockets"),
        ("rawtcp", "C", "C raw TCP", "C = Kestrel raw TCP echo (no HTTP/WebSocket; in scenario 5 its connections have echoed 7 raw bytes; n/a for scenario 7, which needs the permessage-deflate handshake)"),
        ("bun", "D", "D Bun", "D = Bun's Bun.serve (uWebSockets), build/bench/bun/echo.js; n/a for scenario 7 (no deflate endpoint); its heap is JavaScriptCore's"),
        ("ws", "W", "W ws", "W = Node's ws, build/bench/node/echo-server.js; n/a for scenario 7; its heap is V8's"),
    };

    /// <summary>The ratios, first/second of the medians, each shown when both servers ran (the first five are the original A/B ... E/A).</summary>
    static readonly (string Num, string Den)[] Ratios =
    {
        ("ours", "builtin"), ("ours", "rawtcp"), ("ours", "bun"), ("ours-el", "bun"), ("ours-el", "ours"),
        ("ours-lean", "ours"), ("ours-lean-el", "ours"), ("ours-lean-el", "ours-el"), ("ours-lean", "builtin"), ("ours-lean", "bun"), ("ours-lean-el", "bun"),
        ("ours-lean", "ws"), ("ours", "ws"), ("ours-lean-wks", "ours-lean"), ("ours-lean-wks", "ws"), ("ours-lean-wks", "bun"),
    };

    public static string Build(Options o, List<Result> results, TimeSpan elapsed)
    {
        var sb = new StringBuilder();
        var ran = results.Select(r => r.Mode).ToHashSet();
        // Columns in run order (the --servers order, or A E B C D), so the table reads as the rounds ran.
        var order = results.Select(r => r.Mode).Distinct().ToList();
        var cols = order.Select(m => Servers.First(s => s.Mode == m)).ToList();
        string Letter(string mode) => Servers.First(s => s.Mode == mode).Letter;
        var ratios = Ratios.Where(r => ran.Contains(r.Num) && ran.Contains(r.Den))
            .Select(r => (Title: $"{Letter(r.Num)}/{Letter(r.Den)}", r.Num, r.Den)).ToList();
        sb.AppendLine($"Medians of {o.Rounds} interleaved round(s) ({string.Join(" ", cols.Select(c => c.Letter))} per round); {o.Warmup}s warm-up + {o.Duration}s measured per echo run, {o.HandshakeDuration}s per handshake run; {Environment.ProcessorCount} cores; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; run took {elapsed.TotalSeconds:0}s.");
        foreach (var c in cols) sb.AppendLine(c.Legend + ".");
        sb.AppendLine("Ratios are first/second of the medians (for µs, bytes and CPU rows lower is better). Scenario 5: a fresh server per count, growth after a full GC divided by the connections; heap is the managed (or JS) heap, GC committed what the .NET GC keeps committed, RSS floor the RSS growth once an aggressive GC (GCCollectionMode.Aggressive) has given the GC's free space back (.NET servers only).");
        sb.AppendLine();
        sb.AppendLine($"| Scenario | Metric | {string.Join(" | ", cols.Select(c => c.Title))} | {string.Join(" | ", ratios.Select(r => r.Title))} |");
        sb.AppendLine($"|---|---|{string.Concat(Enumerable.Repeat("---:|", cols.Count + ratios.Count))}");
        foreach (var (sc, title, layoutMetrics) in Layout)
        {
            if (!results.Any(r => r.Scenario == sc)) continue;
            // Scenario 5's metrics carry the connection count: every count, in the order given.
            var metrics = sc != 5 ? layoutMetrics : o.IdleConnections.SelectMany(n => layoutMetrics.Select(m => Scenarios.IdleMetric(m, n))).ToArray();
            bool first = true;
            foreach (var m in metrics)
            {
                double Med(string mode) => Median(results.Where(r => r.Scenario == sc && r.Mode == mode && r.Metrics.ContainsKey(m)).Select(r => r.Metrics[m]));
                bool Ran(string mode) => results.Any(r => r.Scenario == sc && r.Mode == mode);
                bool ratio = m is not ("failures" or "connections");
                string Ratio(string num, string den)
                {
                    double x = Med(num), y = Med(den);
                    return ratio && y != 0 && !double.IsNaN(x) && !double.IsNaN(y) ? (x / y).ToString("0.00") : "";
                }
                string cells = string.Join(" | ", cols.Select(c => Ran(c.Mode) ? F(Med(c.Mode)) : "n/a"));
                if (sc == 5 && cols.All(c => double.IsNaN(Med(c.Mode)))) continue;
                string ratioCells = string.Join(" | ", ratios.Select(r => Ratio(r.Num, r.Den)));
                sb.AppendLine($"| {(first ? title : "")} | {m} | {cells} | {ratioCells} |");
                first = false;
            }
        }
        return sb.ToString();
    }
}
