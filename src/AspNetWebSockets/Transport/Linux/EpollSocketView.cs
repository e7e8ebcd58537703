namespace AspNetWebSockets.Transport.Linux;

/// <summary>
/// What the reader and writer views of an <see cref="EpollSocket"/> share: whether the view still reaches the socket
/// (an owner's views are cut off when the socket changes hands), and the one call that tells the owner the view was
/// completed.
/// </summary>
internal struct EpollSocketView
{
    private readonly Action<object?>? _onComplete;
    private readonly object? _state;
    private volatile bool _cutOff;

    /// <param name="onComplete">Called once, with <paramref name="state"/>, when the owner completes the view (not after a cut-off).</param>
    /// <param name="state">The state for <paramref name="onComplete"/>.</param>
    public EpollSocketView(Action<object?>? onComplete, object? state)
    {
        _onComplete = onComplete;
        _state = state;
    }

    /// <summary>Whether the view was cut off the socket: it then reads an ended input and writes nowhere.</summary>
    public readonly bool IsCutOff => _cutOff;

    /// <summary>Whether the owner completed the view.</summary>
    public bool IsCompleted { readonly get; private set; }

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
            _onComplete?.Invoke(_state);
        }
    }
}
