using System.Buffers;

namespace AspNetWebSockets.Extensions;

/// <summary>
/// One connection's side of an accepted extension: decodes received messages whose first frame carries the extension's
/// reserved bits, and encodes whole messages to send. The protocol object calls it, never concurrently on the same
/// direction: decoding is serialized by the receive, encoding by the send; <see cref="IDisposable.Dispose"/> may come
/// from another thread when the connection is torn down, and must make later calls fail or return nothing, not crash.
/// </summary>
/// <remarks>
/// The protocol applies the RFC's rules around the transform — size limits and UTF-8 validation on the decoded bytes,
/// reserved bits only on a message's first frame — so a session only transforms bytes. Memory should be held only while
/// a message is in progress, so an idle connection holds none.
/// </remarks>
public interface IWebSocketExtensionSession : IDisposable
{
    /// <summary>Whether a received message is being decoded: raw input is staged or decoded output is still to come.</summary>
    bool IsDecoding { get; }

    /// <summary>Free space for the next raw payload bytes of the message being received (empty once disposed).</summary>
    /// <returns>Where the protocol copies (and unmasks) payload; commit what was written with <see cref="CommitDecodeInput"/>.</returns>
    Span<byte> GetDecodeInputSpan();

    /// <summary>Accepts <paramref name="count"/> bytes written into <see cref="GetDecodeInputSpan"/>.</summary>
    /// <param name="count">Bytes written.</param>
    /// <param name="endOfMessage">Whether they end the message's payload.</param>
    void CommitDecodeInput(int count, bool endOfMessage);

    /// <summary>Decodes staged input into <paramref name="destination"/>.</summary>
    /// <param name="destination">Where decoded bytes go; not empty.</param>
    /// <param name="written">How many bytes were written.</param>
    /// <returns>
    /// <see cref="OperationStatus.Done"/> when the message is complete (the session is then ready for the next one);
    /// <see cref="OperationStatus.NeedMoreData"/> when it wrote what it could (possibly nothing) and needs more input or
    /// more room; <see cref="OperationStatus.InvalidData"/> when the input cannot be decoded (the connection fails with 1007).
    /// </returns>
    OperationStatus Decode(Span<byte> destination, out int written);

    /// <summary>Encodes a whole message to send, or declines (e.g. too small to be worth compressing).</summary>
    /// <param name="payload">The message.</param>
    /// <param name="encoded">The encoded payload, valid until the next call or <see cref="ReleaseEncoded"/>.</param>
    /// <returns>Whether the message was encoded; false sends it as it is, without the reserved bits.</returns>
    bool TryEncode(ReadOnlySpan<byte> payload, out ReadOnlyMemory<byte> encoded);

    /// <summary>Returns the memory holding the last encoded message, once its frame has been written.</summary>
    void ReleaseEncoded();

    /// <summary>
    /// Non-null when this session encodes a message the same way as every other session with an equal key, carrying no
    /// state from one message to the next: a broadcast then encodes once per key and sends every such member the same
    /// bytes (see <see cref="TryEncodeShared"/>). Null (the default for stateful encodings) encodes per member.
    /// </summary>
    object? SharedEncodingKey { get; }

    /// <summary>
    /// Encodes a message with fresh state, for every session whose <see cref="SharedEncodingKey"/> equals this one's.
    /// Thread-safe, and independent of this session's own state.
    /// </summary>
    /// <param name="payload">The message.</param>
    /// <param name="output">Receives the encoded payload.</param>
    /// <returns>Whether the message was encoded; false sends it as it is.</returns>
    bool TryEncodeShared(ReadOnlySpan<byte> payload, IBufferWriter<byte> output);
}
