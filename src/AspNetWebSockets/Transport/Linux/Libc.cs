using System.Runtime.InteropServices;

namespace AspNetWebSockets.Transport.Linux;

/// <summary>
/// The Linux system calls the lean transport makes itself: epoll, eventfd, accept4, recv/send, shutdown, close and two
/// socket options. Called directly (not through <c>System.Net.Sockets</c>) because a <c>Socket</c> registered with the
/// runtime's own epoll engine costs about 2.5 KB per idle connection, and because the runtime gives no way to take a
/// descriptor back from that engine (see <c>build/bench/idle-floor</c>).
/// </summary>
internal static unsafe partial class Libc
{
    private const string Library = "libc";

    public const int EAGAIN = 11;
    public const int EINTR = 4;

    public const uint EPOLLIN = 0x001;
    public const uint EPOLLOUT = 0x004;
    public const uint EPOLLERR = 0x008;
    public const uint EPOLLHUP = 0x010;
    public const uint EPOLLRDHUP = 0x2000;
    public const uint EPOLLET = 1u << 31;

    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const int EPOLL_CTL_MOD = 3;

    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;

    public const int MSG_NOSIGNAL = 0x4000;

    public const int SHUT_WR = 1;
    public const int SHUT_RDWR = 2;

    private const int SOL_SOCKET = 1;
    private const int SO_LINGER = 13;
    private const int IPPROTO_TCP = 6;
    private const int TCP_NODELAY = 1;

    /// <summary>
    /// <c>struct epoll_event</c> is packed on x86-64 (12 bytes: the 64-bit data right after the 32-bit mask) and naturally
    /// aligned elsewhere (16 bytes), so events are read from a raw buffer at the offsets of the running architecture.
    /// </summary>
    public static readonly int EpollEventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    private static readonly int EpollDataOffset = EpollEventSize - 8;

    /// <summary>Whether this process can run the lean transport: Linux on x86-64 or ARM64.</summary>
    public static bool IsSupported => OperatingSystem.IsLinux()
        && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64;

    public static int LastError => Marshal.GetLastPInvokeError();

    [LibraryImport(Library, SetLastError = true)]
    public static partial int epoll_create1(int flags);

    [LibraryImport(Library, SetLastError = true)]
    private static partial int epoll_ctl(int epfd, int op, int fd, byte* registration);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int epoll_wait(int epfd, byte* events, int maxEvents, int timeout);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int accept4(int fd, byte* address, int* addressLength, int flags);

    [LibraryImport(Library, SetLastError = true)]
    public static partial nint recv(int fd, byte* buffer, nint length, int flags);

    [LibraryImport(Library, SetLastError = true)]
    public static partial nint send(int fd, byte* buffer, nint length, int flags);

    [LibraryImport(Library, SetLastError = true)]
    public static partial nint read(int fd, byte* buffer, nint length);

    [LibraryImport(Library, SetLastError = true)]
    public static partial nint write(int fd, byte* buffer, nint length);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int shutdown(int fd, int how);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport(Library, SetLastError = true)]
    private static partial int setsockopt(int fd, int level, int option, void* value, int length);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int getsockname(int fd, byte* address, int* addressLength);

    [LibraryImport(Library, SetLastError = true)]
    public static partial int getpeername(int fd, byte* address, int* addressLength);

    /// <summary>Adds, changes or removes <paramref name="fd"/>'s registration; <paramref name="data"/> comes back with its events.</summary>
    public static int EpollControl(int epfd, int op, int fd, uint events, ulong data)
    {
        byte* registration = stackalloc byte[16];
        *(uint*)registration = events;
        *(ulong*)(registration + EpollDataOffset) = data;
        return epoll_ctl(epfd, op, fd, registration);
    }

    /// <summary>The <paramref name="index"/>th event of an <c>epoll_wait</c> result buffer.</summary>
    public static (uint Events, ulong Data) EpollEventAt(byte* events, int index)
    {
        byte* e = events + (index * EpollEventSize);
        return (*(uint*)e, *(ulong*)(e + EpollDataOffset));
    }

    /// <summary>Turns Nagle off, as Kestrel does for its own sockets: a WebSocket frame should leave when it is flushed.</summary>
    public static void SetNoDelay(int fd)
    {
        int on = 1;
        _ = setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(int));
    }

    /// <summary>Makes the next <c>close</c> reset the connection (RST) instead of the orderly FIN: an abort.</summary>
    public static void SetAbortiveClose(int fd)
    {
        long linger = 1; // struct linger { int l_onoff = 1; int l_linger = 0; }
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, 8);
    }
}
