namespace AspNetWebSockets.Transport.Linux;

/// <summary>What an <see cref="EpollLoop"/> calls, on its own thread, when a registered descriptor is ready.</summary>
internal interface IEpollHandler
{
    /// <summary>
    /// The descriptor is ready (<c>EPOLLIN</c>, <c>EPOLLOUT</c>, errors or hang-up in <paramref name="events"/>).
    /// Registrations are edge-triggered: read or write until <c>EAGAIN</c>. A call may be spurious (a registration being
    /// removed while its event was in flight); handlers then simply find nothing to do.
    /// </summary>
    void OnEvents(uint events);
}
