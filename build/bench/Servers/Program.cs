// Three echo servers sharing one Kestrel configuration, for build/bench.sh:
//   --mode ours     AspNetWebSockets MapWebSocket echo (ReadAllAsync + SendAsync)
//   --mode builtin  ASP.NET Core UseWebSockets + AcceptWebSocketAsync echo loop (whole messages, like ours)
//   --mode rawtcp   Kestrel connection handler copying bytes (no HTTP, no WebSocket): the practical ceiling
// ours and builtin also serve the same echo on /echo-deflate with permessage-deflate allowed (scenario 7): ours through
// .WithCompression(), builtin through DangerousEnableCompression; both keep the defaults (server context takeover,
// 15-bit windows). /echo never negotiates it, and neither path compresses unless the client offers it.
// and two broadcast servers for build/bench.sh --broadcast (each message a client sends goes to every other client):
//   --mode ours-broadcast     MapWebSocket("/broadcast") + IWebSocketGroups.SendToAllAsync(data, type, except: sender)
//   --mode builtin-broadcast  UseWebSockets + AcceptWebSocketAsync; a loop of SendAsync over a ConcurrentDictionary of
//                             sockets, each socket's sends serialized by its SemaphoreSlim, all awaited with Task.WhenAll
// Keep-alive pings are off in both broadcast modes (Node's ws sends none either), so only broadcasts are measured.
// Socket transport tuning (any mode; off unless given, so the default tables use Kestrel's defaults). run.sh passes
// them from BENCH_SERVER_ARGS to every server, so A, B and C get the same transport settings:
//   --inline-scheduling        SocketTransportOptions.UnsafePreferInlineScheduling = true
//   --wait-for-data true|false SocketTransportOptions.WaitForDataBeforeAllocatingBuffer (Kestrel's default: true)
//   --io-queue-count N         SocketTransportOptions.IOQueueCount (Kestrel's default: min(cores, 16); 0 = inline)
// Event-loop execution (issue 14), ours and ours-broadcast only:
//   --event-loop               builder.WebHost.UseWebSocketEventLoop(): Kestrel's inline scheduling, inline socket
//                              completions and stall detection. run.sh also puts DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1
//                              in the server's environment (the runtime reads it once, at the first socket).
//   --loops N                  WebSocketEventLoopOptions.LoopCount: the lean transport's event loops (default: one per core;
//                              run.sh and LoadGen give I one, as Bun runs its server on one thread)
// When that variable is 1 (any mode, e.g. rawtcp --inline-scheduling for the inline raw echo), the server checks after
// starting that the socket engine really runs completions inline and exits with 3 if not, so no table mislabels a run.
// Listens on 127.0.0.1 with an OS-chosen port and prints "PORT <n>" on stdout.
// stdin commands: "gc" -> full blocking compacting GC, then prints "GC <VmRSS bytes> <managed heap bytes> committed=..
// heap=.. frag=.. jit=<methods the JIT has compiled so far>";
// "gc-aggressive" -> the same with GCCollectionMode.Aggressive, which also gives the GC's free space back to the OS
// (what the connections hold, without the GC's reserve: the floor an application reaches with that call);
// "quit" (or stdin EOF) -> stops.
using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using AspNetWebSockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

string mode = "ours";
bool inlineScheduling = false;
bool eventLoop = false;
bool lean = false;
bool? waitForData = null;
int? ioQueueCount = null;
int? loops = null;
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--mode" && i + 1 < args.Length) mode = args[i + 1];
    // Off in the default columns (the raw inline echo, F, turns it on): Kestrel runs socket sends and receive continuations inline
    // instead of hopping to its IOQueue (SocketTransportOptions.UnsafePreferInlineScheduling).
    if (args[i] == "--inline-scheduling") inlineScheduling = true;
    if (args[i] == "--event-loop") eventLoop = true;
    // Lean connections (WebSocketServerOptions.LeanConnections): our epoll transport, the socket handed over after the 101.
    // The library turns them on by default; the servers set the option either way, so A and E stay on the classic path.
    if (args[i] == "--lean") lean = true;
    if (args[i] == "--wait-for-data" && i + 1 < args.Length) waitForData = bool.Parse(args[i + 1]);
    if (args[i] == "--loops" && i + 1 < args.Length) loops = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
    if (args[i] == "--io-queue-count" && i + 1 < args.Length) ioQueueCount = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
}
if (mode is not ("ours" or "builtin" or "rawtcp" or "ours-broadcast" or "builtin-broadcast"))
{
    Console.Error.WriteLine("usage: BenchServers --mode ours|builtin|rawtcp|ours-broadcast|builtin-broadcast [--event-loop]");
    return 2;
}
if ((eventLoop || lean || loops is not null) && mode is not ("ours" or "ours-broadcast"))
{
    Console.Error.WriteLine("--event-loop, --lean and --loops apply to --mode ours and ours-broadcast (they are AspNetWebSockets' switches)");
    return 2;
}

var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = Array.Empty<string>() });
builder.Logging.ClearProviders();
if (inlineScheduling || waitForData is not null || ioQueueCount is not null)
{
    builder.WebHost.UseSockets(o =>
    {
        if (inlineScheduling) o.UnsafePreferInlineScheduling = true;
        if (waitForData is bool w) o.WaitForDataBeforeAllocatingBuffer = w;
        if (ioQueueCount is int q) o.IOQueueCount = q;
    });
}
if (eventLoop)
    builder.WebHost.UseWebSocketEventLoop();
builder.WebHost.ConfigureKestrel(k =>
{
    k.AddServerHeader = false;
    if (mode == "rawtcp")
        k.Listen(IPAddress.Loopback, 0, l => l.UseConnectionHandler<EchoHandler>());
    else
        k.Listen(IPAddress.Loopback, 0);
});

if (mode == "ours")
    builder.Services.AddWebSockets(o => { o.UseTransportPipes = true; o.AllowAnyOrigin = true; o.LeanConnections = lean; SetLoops(o); });
if (mode == "ours-broadcast")
{
    builder.Services.AddWebSockets(o =>
    {
        o.UseTransportPipes = true;
        o.AllowAnyOrigin = true;
        o.KeepAliveInterval = Timeout.InfiniteTimeSpan;
        o.LeanConnections = lean;
        SetLoops(o);
    });
    builder.Services.AddWebSocketGroups();
}

var app = builder.Build();

if (mode == "ours")
{
    // Compression is off server-wide (the default) and turned on for the second endpoint only.
    app.MapWebSocket("/echo", OursEcho);
    app.MapWebSocket("/echo-deflate", OursEcho).WithCompression();
}
else if (mode == "builtin")
{
    app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
    app.Map("/echo", ctx => BuiltinEcho.RunAsync(ctx, compression: false));
    app.Map("/echo-deflate", ctx => BuiltinEcho.RunAsync(ctx, compression: true));
}
else if (mode == "ours-broadcast")
{
    // Framed once per broadcast; SendToAllAsync starts every member's write and never waits for one.
    app.MapWebSocket("/broadcast", async (WebSocketConnection socket, IWebSocketGroups groups) =>
    {
        await foreach (var m in socket.ReadAllAsync())
            await groups.SendToAllAsync(m.Data, m.Type, except: socket);
    });
}
else if (mode == "builtin-broadcast")
{
    app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
    app.Map("/broadcast", BuiltinBroadcast.RunAsync);
}

await app.StartAsync();
var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
var port = new Uri(addresses.First()).Port;
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") == "1" || eventLoop)
{
    // Sockets have been used by now, so the engine has read the variable: a run labelled inline must be inline.
    bool? inline = InlineCompletionsProbe.Enabled();
    if (inline != true)
    {
        Console.Error.WriteLine($"inline socket completions were requested but the socket engine reports {(inline is null ? "nothing" : "off")}");
        return 3;
    }
}
Console.WriteLine($"PORT {port}");
Console.Out.Flush();

var lifetime = app.Lifetime;
_ = Task.Run(() =>
{
    string? line;
    while ((line = Console.ReadLine()) != null)
    {
        line = line.Trim();
        if (line is "gc" or "gc-aggressive")
        {
            for (int i = 0; i < 2; i++)
            {
                GC.Collect(2, line == "gc" ? GCCollectionMode.Forced : GCCollectionMode.Aggressive, blocking: true, compacting: true);
                GC.WaitForPendingFinalizers();
            }
            Thread.Sleep(200);
            var info = GC.GetGCMemoryInfo();
            Console.WriteLine($"GC {ReadRss()} {GC.GetTotalMemory(false)} committed={info.TotalCommittedBytes} heap={info.HeapSizeBytes} frag={info.FragmentedBytes} jit={System.Runtime.JitInfo.GetCompiledMethodCount()}");
            Console.Out.Flush();
        }
        else if (line is "malloc" or "malloc-trim")
        {
            // Native heap (glibc): bytes in use and free in malloc's arenas; "malloc-trim" first gives free pages back.
            if (line == "malloc-trim") NativeHeap.Trim();
            var (inUse, free) = NativeHeap.Info();
            Console.WriteLine($"MALLOC {ReadRss()} inuse={inUse} free={free}");
            Console.Out.Flush();
        }
        else if (line == "quit") break;
    }
    lifetime.StopApplication();
});

using (var cts = new CancellationTokenSource())
{
    lifetime.ApplicationStopping.Register(() => cts.Cancel());
    try { await Task.Delay(Timeout.Infinite, cts.Token); } catch (OperationCanceledException) { }
}
// Benchmark connections are dropped abruptly; don't wait for close handshakes.
using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
    try { await app.StopAsync(stop.Token); } catch { }
return 0;

static async Task OursEcho(WebSocketConnection socket)
{
    await foreach (var m in socket.ReadAllAsync())
        await socket.SendAsync(m.Data, m.Type);
}

void SetLoops(WebSocketServerOptions o)
{
    if (loops is { } n) o.EventLoop.LoopCount = n;
}

static long ReadRss()
{
    foreach (var l in File.ReadLines("/proc/self/status"))
        if (l.StartsWith("VmRSS:"))
            return long.Parse(l.AsSpan(6).Trim().TrimEnd("kB").Trim()) * 1024;
    return -1;
}

static class BuiltinEcho
{
    // The usual ASP.NET Core echo loop, accumulating fragments into one whole message (as ours hands over whole
    // messages), starting from a 4 KiB per-connection buffer (the docs sample's size) that grows from the pool.
    // With `compression`, permessage-deflate is accepted when the client offers it (ReceiveAsync hands out inflated data).
    public static async Task RunAsync(HttpContext ctx, bool compression)
    {
        if (!ctx.WebSockets.IsWebSocketRequest) { ctx.Response.StatusCode = 400; return; }
        using var ws = await ctx.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { DangerousEnableCompression = compression });
        byte[] buffer = new byte[4096];
        byte[]? rented = null;
        try
        {
            while (true)
            {
                int count = 0;
                ValueWebSocketReceiveResult r;
                do
                {
                    if (count == buffer.Length)
                    {
                        var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, count).CopyTo(bigger);
                        if (rented != null) ArrayPool<byte>.Shared.Return(rented);
                        rented = buffer = bigger;
                    }
                    r = await ws.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None);
                    if (r.MessageType == WebSocketMessageType.Close)
                    {
                        await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                        return;
                    }
                    count += r.Count;
                } while (!r.EndOfMessage);
                await ws.SendAsync(buffer.AsMemory(0, count), r.MessageType, true, CancellationToken.None);
            }
        }
        catch (WebSocketException) { }
        catch (IOException) { }
        catch (OperationCanceledException) { }
        finally
        {
            if (rented != null) ArrayPool<byte>.Shared.Return(rented);
        }
    }
}

static class BuiltinBroadcast
{
    // Every open socket with the lock that serializes its sends (ManagedWebSocket allows one send at a time).
    private static readonly ConcurrentDictionary<WebSocket, SemaphoreSlim> Sockets = new();

    // The common hand-written hub: receive a whole message, then send it to every other socket with SendAsync and await
    // them all together, so one slow socket delays the sender's next message but not the other sockets.
    public static async Task RunAsync(HttpContext ctx)
    {
        if (!ctx.WebSockets.IsWebSocketRequest) { ctx.Response.StatusCode = 400; return; }
        using var ws = await ctx.WebSockets.AcceptWebSocketAsync();
        // Not disposed: another handler's broadcast may still hold it (it never allocates a wait handle anyway).
        var sendLock = new SemaphoreSlim(1, 1);
        Sockets[ws] = sendLock;
        byte[] buffer = new byte[4096];
        var sends = new List<Task>();
        try
        {
            while (true)
            {
                int count = 0;
                ValueWebSocketReceiveResult r;
                do
                {
                    if (count == buffer.Length)
                        Array.Resize(ref buffer, buffer.Length * 2);
                    r = await ws.ReceiveAsync(buffer.AsMemory(count), CancellationToken.None);
                    if (r.MessageType == WebSocketMessageType.Close)
                    {
                        await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                        return;
                    }
                    count += r.Count;
                } while (!r.EndOfMessage);

                // The buffer is not touched again until every send has completed, so all sockets can share it.
                ReadOnlyMemory<byte> message = buffer.AsMemory(0, count);
                foreach (var (other, otherLock) in Sockets)
                {
                    if (other != ws && other.State == WebSocketState.Open)
                        sends.Add(SendAsync(other, otherLock, message, r.MessageType));
                }
                await Task.WhenAll(sends);
                sends.Clear();
            }
        }
        catch (WebSocketException) { }
        catch (IOException) { }
        catch (OperationCanceledException) { }
        finally
        {
            Sockets.TryRemove(ws, out _);
        }
    }

    private static async Task SendAsync(WebSocket socket, SemaphoreSlim sendLock, ReadOnlyMemory<byte> message, WebSocketMessageType type)
    {
        await sendLock.WaitAsync();
        try
        {
            await socket.SendAsync(message, type, true, CancellationToken.None);
        }
        catch (WebSocketException) { }
        catch (IOException) { }
        catch (ObjectDisposedException) { }
        catch (OperationCanceledException) { }
        finally
        {
            sendLock.Release();
        }
    }
}

sealed class EchoHandler : ConnectionHandler
{
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        try { await connection.Transport.Input.CopyToAsync(connection.Transport.Output); }
        catch (ConnectionResetException) { }
        catch (IOException) { }
        catch (OperationCanceledException) { }
    }
}

static class InlineCompletionsProbe
{
    // System.Net.Sockets reads DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS into this internal static field once; read
    // it (never written) to check the mode a run claims. Null when the field is not there (another runtime).
    public static bool? Enabled() =>
        typeof(System.Net.Sockets.Socket).Assembly.GetType("System.Net.Sockets.SocketAsyncEngine")
            ?.GetField("InlineSocketCompletionsEnabled", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public)
            ?.GetValue(null) as bool?;
}

static partial class NativeHeap
{
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    struct MallInfo2 { public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost; }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "mallinfo2")]
    private static partial MallInfo2 MallInfo();

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    public static (long InUse, long Free) Info()
    {
        var info = MallInfo();
        return ((long)(info.Uordblks + info.Hblkhd), (long)info.Fordblks);
    }

    public static void Trim() => MallocTrim(0);
}
