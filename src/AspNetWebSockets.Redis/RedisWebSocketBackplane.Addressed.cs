using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text;
using StackExchange.Redis;

namespace AspNetWebSockets.Redis;

/// <summary>
/// Addressed messages (<see cref="IWebSocketSender"/>) on one channel, <c>{ChannelPrefix}:addressed</c>, that every node
/// receives and filters against its own connections. One channel on the same subscription as the broadcasts keeps a
/// node's addressed messages and broadcasts in publishing order, and costs no SUBSCRIBE per connection or user; the price
/// is that every node receives every addressed message (one PUBLISH, fanned out by Redis to each node).
/// </summary>
public sealed partial class RedisWebSocketBackplane
{
    // Body: version (1), node id (16), message type (1), target kind (1), name length (u16) + UTF-8 name,
    // except count (u16) + each (u16 length + UTF-8), payload.
    private const int AddressedHeaderSize = 18 + 1 + 2;

    private Func<WebSocketAddressedMessage, ValueTask>? _addressedReceiver;
    private string? _addressedChannel;

    private string AddressedChannel => _addressedChannel ??= _options.ChannelPrefix + ":addressed";

    /// <inheritdoc />
    public void SetAddressedReceiver(Func<WebSocketAddressedMessage, ValueTask> receiver) => _addressedReceiver = receiver;

    /// <inheritdoc />
    public async ValueTask PublishAddressedAsync(WebSocketAddressedMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ConnectionMultiplexer? redis = _redis;
        if (redis is null)
        {
            return; // not started (or stopped): single-node delivery only
        }

        byte[] body = EncodeAddressed(_nodeId, message);
        try
        {
            await redis.GetSubscriber().PublishAsync(RedisChannel.Literal(AddressedChannel), body, CommandFlags.FireAndForget).ConfigureAwait(false);
        }
        catch (RedisException e)
        {
            LogPublishFailed(_logger, e);
        }
    }

    /// <summary>The wire form of an addressed message published by node <paramref name="nodeId"/>.</summary>
    internal static byte[] EncodeAddressed(byte[] nodeId, WebSocketAddressedMessage message)
    {
        WebSocketTarget target = message.Target;
        string name = target.Name ?? string.Empty;
        int size = AddressedHeaderSize + Encoding.UTF8.GetByteCount(name) + 2 + message.Payload.Length;
        foreach (string id in target.Except)
        {
            size += 2 + Encoding.UTF8.GetByteCount(id);
        }

        byte[] body = new byte[size];
        body[0] = FormatVersion;
        nodeId.CopyTo(body, 1);
        body[17] = message.MessageType == WebSocketMessageType.Text ? (byte)1 : (byte)2;
        body[18] = (byte)target.Kind;
        int offset = WriteString(body, 19, name);
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(offset), checked((ushort)target.Except.Count));
        offset += 2;
        foreach (string id in target.Except)
        {
            offset = WriteString(body, offset, id);
        }

        message.Payload.Span.CopyTo(body.AsSpan(offset));
        return body;
    }

    /// <summary>Delivers an addressed message from another node (version, node id and type already checked).</summary>
    private async Task OnAddressedAsync(byte[] body, string channel)
    {
        if (!TryParseAddressed(body, out WebSocketAddressedMessage? message))
        {
            LogMalformed(_logger, channel);
            return;
        }

        if (_addressedReceiver is { } receiver)
        {
            try
            {
                await receiver(message!).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogDeliveryFailed(_logger, channel, e);
            }
        }
    }

    internal static bool TryParseAddressed(byte[] body, out WebSocketAddressedMessage? message)
    {
        message = null;
        if (body.Length < AddressedHeaderSize || body[18] is < (byte)WebSocketTargetKind.Connection or > (byte)WebSocketTargetKind.All)
        {
            return false;
        }

        var kind = (WebSocketTargetKind)body[18];
        int offset = 19;
        if (!TryReadString(body, ref offset, out string? name) || body.Length - offset < 2)
        {
            return false;
        }

        int count = BinaryPrimitives.ReadUInt16BigEndian(body.AsSpan(offset));
        offset += 2;
        if (count > (body.Length - offset) / 2)
        {
            return false; // each entry takes at least its length prefix
        }

        string[] except = new string[count];
        for (int i = 0; i < count; i++)
        {
            if (!TryReadString(body, ref offset, out except[i]!))
            {
                return false;
            }
        }

        WebSocketTarget target;
        try
        {
            target = WebSocketTarget.Create(kind, kind == WebSocketTargetKind.All && name!.Length == 0 ? null : name, except);
        }
        catch (ArgumentException)
        {
            return false;
        }

        var type = body[17] == 1 ? WebSocketMessageType.Text : WebSocketMessageType.Binary;
        message = new WebSocketAddressedMessage(target, type, body.AsMemory(offset));
        return true;
    }

    private static int WriteString(byte[] body, int offset, string value)
    {
        if (Encoding.UTF8.GetByteCount(value) > ushort.MaxValue)
        {
            throw new ArgumentException("A target name or excepted connection id is longer than 65,535 UTF-8 bytes.", nameof(value));
        }

        int length = Encoding.UTF8.GetBytes(value, body.AsSpan(offset + 2));
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(offset), checked((ushort)length));
        return offset + 2 + length;
    }

    private static bool TryReadString(byte[] body, ref int offset, out string? value)
    {
        value = null;
        if (body.Length - offset < 2)
        {
            return false;
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(body.AsSpan(offset));
        if (body.Length - offset - 2 < length)
        {
            return false;
        }

        try
        {
            value = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(body, offset + 2, length);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        offset += 2 + length;
        return true;
    }
}
