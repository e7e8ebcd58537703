namespace AspNetWebSockets.Transport.Linux;

/// <summary>
/// The event loops of one transport, one per core as in uSockets; connections are spread over them round-robin and
/// stay on their loop for life.
/// </summary>
internal sealed class EpollLoopGroup : IDisposable
{
    private readonly EpollLoop[] _loops;
    private int _next = -1;

    /// <param name="count">How many loops (threads).</param>
    /// <param name="onError">Where a loop reports an exception a handler threw (the loop goes on).</param>
    public EpollLoopGroup(int count, Action<Exception> onError)
    {
        _loops = new EpollLoop[Math.Max(1, count)];
        for (int i = 0; i < _loops.Length; i++)
        {
            _loops[i] = new EpollLoop($"WebSocket loop {i}", onError);
        }
    }

    /// <summary>The loop for the next connection.</summary>
    public EpollLoop Next() => _loops[(int)((uint)Interlocked.Increment(ref _next) % (uint)_loops.Length)];

    public void Dispose()
    {
        foreach (EpollLoop loop in _loops)
        {
            loop.Dispose();
        }
    }
}
