using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace AspNetWebSockets.Transport.Linux;

/// <summary>
/// A Kestrel listener of the lean transport: a listening socket whose descriptor is watched by one of our loops;
/// connections are accepted with <c>accept4</c> (non-blocking) and spread over the loops.
/// </summary>
internal sealed class EpollConnectionListener : IConnectionListener, IEpollHandler
{
    private const int EMFILE = 24;
    private const int ENFILE = 23;
    private const int ENOBUFS = 105;
    private const int ENOMEM = 12;

    private readonly Socket _listener;
    private readonly int _fd;
    private readonly EpollLoopGroup _loops;
    private readonly EpollLoop _acceptLoop;
    private readonly int _slot;
    private readonly bool _inline;
    private readonly Action<int> _onAcceptError;
    private readonly object _gate = new();
    private TaskCompletionSource<bool>? _acceptable;
    private bool _signaled;
    private bool _unbound;

    /// <param name="endPoint">Where to listen (an IP end point; port 0 picks one).</param>
    /// <param name="loops">The loops connections run on.</param>
    /// <param name="inline">The event-loop mode: reads and flushes that complete on a loop continue there.</param>
    /// <param name="onAcceptError">Told the errno of an accept that failed for lack of resources (it is retried shortly).</param>
    public EpollConnectionListener(IPEndPoint endPoint, EpollLoopGroup loops, bool inline, Action<int> onAcceptError)
    {
        _loops = loops;
        _inline = inline;
        _onAcceptError = onAcceptError;
        _listener = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.Address.Equals(IPAddress.IPv6Any))
            {
                _listener.DualMode = true; // as Kestrel: [::] takes IPv4 too
            }

            _listener.Bind(endPoint);
            _listener.Listen(512);
            _listener.Blocking = false;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            _listener.Dispose();
            throw new AddressInUseException(e.Message, e);
        }

        EndPoint = _listener.LocalEndPoint!;
        _fd = (int)_listener.SafeHandle.DangerousGetHandle();
        _acceptLoop = loops.Next();
        _slot = _acceptLoop.Register(_fd, Libc.EPOLLIN, this);
    }

    public EndPoint EndPoint { get; }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task<bool> acceptable;
            lock (_gate)
            {
                if (_unbound)
                {
                    return null;
                }

                _signaled = false;
            }

            int fd = Accept(_fd);
            if (fd >= 0)
            {
                return Accepted(fd);
            }

            int error = Libc.LastError;
            if (error is EMFILE or ENFILE or ENOBUFS or ENOMEM)
            {
                // Out of descriptors or memory: the connection waits in the backlog; try again shortly, as Node does.
                _onAcceptError(error);
                await Task.Delay(10, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (error != Libc.EAGAIN)
            {
                continue; // EINTR, ECONNABORTED (the peer gave up in the backlog), EPROTO: the next one
            }

            lock (_gate)
            {
                if (_unbound)
                {
                    return null;
                }

                if (_signaled)
                {
                    continue; // a connection arrived after the EAGAIN
                }

                _acceptable = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                acceptable = _acceptable.Task;
            }

            await acceptable.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public void OnEvents(uint events)
    {
        TaskCompletionSource<bool>? acceptable;
        lock (_gate)
        {
            acceptable = _acceptable;
            _acceptable = null;
            _signaled = acceptable is null;
        }

        acceptable?.TrySetResult(true);
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        TaskCompletionSource<bool>? acceptable;
        lock (_gate)
        {
            if (_unbound)
            {
                return ValueTask.CompletedTask;
            }

            _unbound = true;
            acceptable = _acceptable;
            _acceptable = null;
        }

        _acceptLoop.Unregister(_fd, _slot);
        _listener.Dispose();
        acceptable?.TrySetResult(false);
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => UnbindAsync();

    private EpollConnection Accepted(int fd)
    {
        var socket = new EpollSocket(_loops.Next(), fd, _inline);
        return new EpollConnection(socket, EndPointOf(fd, local: true), EndPointOf(fd, local: false));
    }

    private static unsafe int Accept(int listener) => Libc.accept4(listener, null, null, Libc.O_NONBLOCK | Libc.O_CLOEXEC);

    /// <summary>The connection's local or remote address, read from the kernel (<c>sockaddr_in</c> or <c>sockaddr_in6</c>).</summary>
    private static unsafe IPEndPoint? EndPointOf(int fd, bool local)
    {
        byte* address = stackalloc byte[128];
        int length = 128;
        if ((local ? Libc.getsockname(fd, address, &length) : Libc.getpeername(fd, address, &length)) != 0)
        {
            return null;
        }

        var bytes = new ReadOnlySpan<byte>(address, length);
        ushort family = BinaryPrimitives.ReadUInt16LittleEndian(bytes);
        int port = BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]);
        return family switch
        {
            2 when length >= 8 => new IPEndPoint(new IPAddress(bytes.Slice(4, 4)), port), // AF_INET
            10 when length >= 28 => new IPEndPoint(new IPAddress(bytes.Slice(8, 16), BinaryPrimitives.ReadUInt32LittleEndian(bytes[24..])), port), // AF_INET6
            _ => null,
        };
    }
}
