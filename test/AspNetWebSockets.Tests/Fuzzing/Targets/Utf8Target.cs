using System.Text;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets.Fuzzing;

/// <summary>
/// Target "utf8": <see cref="Utf8Validator"/> (incremental, fail-fast) against the runtime's whole-buffer validator,
/// over arbitrary bytes cut into arbitrary chunks (text messages arrive in fragments and TCP reads).
/// </summary>
/// <remarks>
/// Input layout: a split seed byte, then the message. Invariants: the validator accepts the whole message exactly
/// when <see cref="System.Text.Unicode.Utf8.IsValid"/> does; it rejects a chunk only when the bytes so far cannot
/// begin any valid UTF-8 text (no false alarm on a code point cut between chunks); it accepts every chunk of a
/// message that is valid.
/// </remarks>
internal static class Utf8Target
{
    public static void Run(ReadOnlySpan<byte> data)
    {
        var input = new FuzzInput(data);
        var splitter = new Splitter(input.Byte());
        ReadOnlySpan<byte> message = input.TakeRest();
        bool expected = System.Text.Unicode.Utf8.IsValid(message);

        var validator = new Utf8Validator();
        int offset = 0;
        do
        {
            int size = splitter.Next(message.Length - offset);
            bool end = offset + size == message.Length;
            bool accepted = validator.TryValidate(message.Slice(offset, size), end);
            offset += size;
            if (!accepted)
            {
                FuzzInvariantException.Check(!expected, $"valid UTF-8 rejected at byte {offset}");
                FuzzInvariantException.Check(end || !IsValidPrefix(message[..offset]), $"rejected a valid prefix of {offset} bytes");
                return;
            }
        }
        while (offset < message.Length);

        FuzzInvariantException.Check(expected, "invalid UTF-8 accepted");
    }

    /// <summary>True if <paramref name="prefix"/> can be continued into valid UTF-8: valid except for an incomplete last code point.</summary>
    private static bool IsValidPrefix(ReadOnlySpan<byte> prefix)
    {
        while (!prefix.IsEmpty)
        {
            System.Buffers.OperationStatus status = Rune.DecodeFromUtf8(prefix, out _, out int consumed);
            if (status == System.Buffers.OperationStatus.NeedMoreData)
            {
                return true; // only an incomplete sequence is left
            }

            if (status != System.Buffers.OperationStatus.Done)
            {
                return false;
            }

            prefix = prefix[consumed..];
        }

        return true;
    }
}
