// The floor of .NET for an idle TCP connection, for the lean-connection design (issue 15): how many bytes of RSS and of
// managed heap a server holds per accepted socket that waits for readability without a receive buffer.
//   --mode async  each socket awaits a zero-byte ReceiveAsync in an async method (a lean driver written with async/await)
//   --mode saea   one SocketAsyncEventArgs per socket, zero-byte receive, Completed callback (no state machine)
//   --mode none   the accepted Socket only, nothing pending (not registered with epoll: it could not notice the peer)
//   --mode epoll  no Socket object kept: the descriptor (dup'ed, the Socket disposed) registered for readability with
//                 one epoll instance of our own (LibraryImport), its number in an int list: the design of uSockets

// Listens on 127.0.0.1 (OS-chosen port), prints "PORT <n>", accepts connections until stdin says "measure", then runs a
// full compacting GC and prints "MEASURE <accepted> <VmRSS bytes> <managed heap bytes>"; "quit" or EOF stops.
using System.Net;
using System.Net.Sockets;
using System.Runtime;

string mode = args.Length >= 2 && args[0] == "--mode" ? args[1] : "";
if (mode is not ("async" or "saea" or "none" or "epoll"))
{
    Console.Error.WriteLine("usage: IdleFloor --mode async|saea|none|epoll");
    return 2;
}

int epoll = mode == "epoll" ? Native.epoll_create1(0) : -1;
var descriptors = new List<int>();

var held = new List<object>();
int accepted = 0;
using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
listener.Listen(1024);
Console.WriteLine($"PORT {((IPEndPoint)listener.LocalEndPoint!).Port}");

_ = Task.Run(async () =>
{
    while (true)
    {
        Socket socket;
        try
        {
            socket = await listener.AcceptAsync();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return;
        }

        lock (held)
        {
            held.Add(mode switch
            {
                "async" => WaitReadableAsync(socket),
                "saea" => WaitReadable(socket),
                "epoll" => Register(socket, epoll, descriptors),
                _ => socket,
            });
            accepted++;
        }
    }
});

while (Console.ReadLine() is { } line && line != "quit")
{
    if (line == "measure")
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        long rss = File.ReadLines("/proc/self/status").Where(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024).First();
        int count;
        lock (held)
        {
            count = accepted;
        }

        Console.WriteLine($"MEASURE {count} {rss} {GC.GetTotalMemory(forceFullCollection: false)}");
    }
}

return 0;

// Waits for readability with no buffer; a peer that sends or closes ends the wait (the spike then drops the socket).
static async Task WaitReadableAsync(Socket socket)
{
    try
    {
        await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
    }
    catch (SocketException)
    {
    }

    socket.Dispose();
}

static string Register(Socket socket, int epoll, List<int> descriptors)
{
    int fd = Native.dup((int)socket.SafeHandle.DangerousGetHandle());
    socket.Dispose();
    var registration = new Native.EpollEvent { Events = 0x001 /* EPOLLIN */, Data = (ulong)fd };
    if (fd < 0 || Native.epoll_ctl(epoll, 1 /* EPOLL_CTL_ADD */, fd, ref registration) != 0)
    {
        throw new InvalidOperationException("dup or epoll_ctl failed");
    }

    descriptors.Add(fd);
    return "fd";
}

static SocketAsyncEventArgs WaitReadable(Socket socket)
{
    var args = new SocketAsyncEventArgs { UserToken = socket };
    args.SetBuffer(Memory<byte>.Empty);
    args.Completed += static (_, e) => ((Socket)e.UserToken!).Dispose();
    if (!socket.ReceiveAsync(args))
    {
        socket.Dispose();
    }

    return args;
}

internal static partial class Native
{
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential, Pack = 4)]
    public struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_create1(int flags);

    [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_ctl(int epfd, int op, int fd, ref EpollEvent registration);

    [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true)]
    public static partial int dup(int fd);
}
