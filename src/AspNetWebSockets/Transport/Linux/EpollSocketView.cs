namespace AspNetWebSockets.Transport.Linux;

/// <summary>
/// An owner's hold on the reader and writer views of an <see cref="EpollSocket"/> (Kestrel's, while the connection speaks
/// HTTP): whether the view still reaches the socket (an owner's views are cut off when the socket changes hands), the one
/// call that tells the owner the view was completed, and where a cut-off writer's bytes go.
/// </summary>
/// <param name="onComplete">Called once, with <paramref name="state"/>, when the owner completes the view (not after a cut-off).</param>
/// <param name="state">The state for <paramref name="onComplete"/>.</param>
internal sealed class EpollSocketView(Action<object?> onComplete, object? state)
{
    private volatile bool _cutOff;
    private byte[]? _sink;

    /// <summary>Whether the view was cut off the socket: it then reads an ended input and writes nowhere.</summary>
    public bool IsCutOff => _cutOff;

    /// <summary>Whether the owner completed the view.</summary>
    public bool IsCompleted { get; private set; }

    public void CutOff() => _cutOff = true;

    /// <summary>Marks the view completed and, the first time and unless cut off, tells the owner.</summary>
    public void Complete()
    {
        if (IsCompleted)
        {
            return;
        }

        IsCompleted = true;
        if (!_cutOff)
        {
            onComplete(state);
        }
    }

    /// <summary>Where a cut-off writer's bytes go: at least <paramref name="sizeHint"/> bytes, reused.</summary>
    public Memory<byte> Sink(int sizeHint) => _sink = _sink is null || _sink.Length < sizeHint ? new byte[Math.Max(sizeHint, 256)] : _sink;
}
