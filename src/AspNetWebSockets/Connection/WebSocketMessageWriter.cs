using System.Net.WebSockets;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets;

/// <summary>
/// Sends one message as a sequence of fragments (RFC 6455 §5.4), for payloads produced or read piece by piece.
/// Obtain it from <see cref="WebSocketConnection.BeginMessageAsync"/>; call <see cref="CompleteAsync"/> (or dispose)
/// to send the final fragment and let other messages through. Not thread-safe: one writer, one producer.
/// </summary>
public sealed class WebSocketMessageWriter : IAsyncDisposable
{
    private readonly FrameSender _sender;
    private FragmentSequence _fragments;
    private bool _completed;

    internal WebSocketMessageWriter(FrameSender sender, WebSocketMessageType type)
    {
        _sender = sender;
        _fragments = new FragmentSequence(type);
    }

    /// <summary>Sends <paramref name="fragment"/> as a non-final fragment. Empty fragments are skipped.</summary>
    /// <param name="fragment">The next part of the payload (for text, UTF-8; a code point may span fragments).</param>
    /// <param name="cancellationToken">Stops waiting for the send.</param>
    /// <returns>A task that completes when the fragment has been handed to the transport.</returns>
    public ValueTask WriteAsync(ReadOnlyMemory<byte> fragment, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        return fragment.IsEmpty ? default : SendAsync(fragment, fin: false, cancellationToken);
    }

    /// <summary>Sends the final fragment (possibly empty) and releases the connection for other messages.</summary>
    /// <param name="lastFragment">The last part of the payload.</param>
    /// <param name="cancellationToken">Stops waiting for the send.</param>
    /// <returns>A task that completes when the message has been handed to the transport.</returns>
    public async ValueTask CompleteAsync(ReadOnlyMemory<byte> lastFragment = default, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        try
        {
            await SendAsync(lastFragment, fin: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Release();
        }
    }

    /// <summary>Completes the message if <see cref="CompleteAsync"/> was not called.</summary>
    /// <returns>A task that completes when the final fragment is sent.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_completed)
        {
            return;
        }

        try
        {
            if (_sender.IsOpen)
            {
                await SendAsync(ReadOnlyMemory<byte>.Empty, fin: true, CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            Release();
        }
    }

    private ValueTask SendAsync(ReadOnlyMemory<byte> fragment, bool fin, CancellationToken cancellationToken)
    {
        WebSocketOpcode opcode = _fragments.Next(fragment.Span, fin, nameof(fragment));
        return _sender.SendFragmentAsync(opcode, fin, fragment, cancellationToken);
    }

    private void Release()
    {
        if (!_completed)
        {
            _completed = true;
            _sender.EndMessage();
        }
    }
}
