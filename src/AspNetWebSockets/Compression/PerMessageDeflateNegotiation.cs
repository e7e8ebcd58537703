using System.Diagnostics.CodeAnalysis;
using AspNetWebSockets.Extensions;
using AspNetWebSockets.Handshake;
using AspNetWebSockets.Protocol;

namespace AspNetWebSockets.Compression;

/// <summary>What both sides agreed for permessage-deflate.</summary>
/// <param name="ServerWindowBits">Window the server compresses with.</param>
/// <param name="ServerNoContextTakeover">The server resets its compressor after each message.</param>
/// <param name="ClientWindowBits">Window the server decompresses with (at least what the client may use).</param>
/// <param name="ClientNoContextTakeover">The client resets after each message, so the server may too.</param>
internal sealed record PerMessageDeflateParameters(int ServerWindowBits, bool ServerNoContextTakeover, int ClientWindowBits, bool ClientNoContextTakeover);

/// <summary>
/// RFC 7692 §7 negotiation, server side. Offers are tried in the client's order and the first acceptable one wins.
/// An offer is declined — not failed — when a parameter is unknown, repeated, has a value it must not have, or an
/// out-of-range value; and when it asks for an 8-bit server window, which zlib cannot produce for raw deflate
/// (RFC 7692 §7.1.2.1 allows declining). The response contains only parameters legal for the accepted offer.
/// </summary>
internal sealed class PerMessageDeflateNegotiation : IWebSocketExtension
{
    public const string ExtensionName = "permessage-deflate";

    private readonly WebSocketCompressionOptions _options;
    private readonly WebSocketRole _role;

    /// <param name="options">What we are willing to agree to, and how we compress.</param>
    /// <param name="role">Which side of the connection the sessions serve (each side compresses with its own window).</param>
    public PerMessageDeflateNegotiation(WebSocketCompressionOptions options, WebSocketRole role = WebSocketRole.Server)
    {
        _options = options;
        _role = role;
    }

    public string Name => ExtensionName;

    public byte ReservedBits => ReservedBit.Rsv1;

    public bool TryNegotiate(IReadOnlyList<ExtensionOffer> offers, [NotNullWhen(true)] out string? responseElement, [NotNullWhen(true)] out IWebSocketExtensionSession? session)
    {
        foreach (ExtensionOffer offer in offers)
        {
            if (TryAccept(offer, _options, out PerMessageDeflateParameters? parameters, out responseElement))
            {
                session = new PerMessageDeflateSession(parameters, _options, _role);
                return true;
            }
        }

        responseElement = null;
        session = null;
        return false;
    }

    public static bool TryAccept(ExtensionOffer offer, WebSocketCompressionOptions options, [NotNullWhen(true)] out PerMessageDeflateParameters? parameters, [NotNullWhen(true)] out string? response)
    {
        parameters = null;
        response = null;
        bool serverNoContextTakeover = false, clientNoContextTakeover = false, clientWindowOffered = false;
        int? serverWindowRequested = null, clientWindowLimit = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);

        foreach ((string name, string? value) in offer.Parameters)
        {
            if (!seen.Add(name))
            {
                return false; // duplicate parameter (RFC 7692 §7, ADVISORIES #3)
            }

            switch (name)
            {
                case "server_no_context_takeover" when value is null:
                    serverNoContextTakeover = true;
                    break;
                case "client_no_context_takeover" when value is null:
                    clientNoContextTakeover = true;
                    break;
                case "server_max_window_bits" when TryParseWindowBits(value, out int bits):
                    serverWindowRequested = bits;
                    break;
                case "client_max_window_bits" when value is null:
                    clientWindowOffered = true;
                    break;
                case "client_max_window_bits" when TryParseWindowBits(value, out int bits):
                    clientWindowOffered = true;
                    clientWindowLimit = bits;
                    break;
                default:
                    return false; // unknown parameter, or a value where none (or another) belongs
            }
        }

        int serverWindow = options.ServerMaxWindowBits;
        if (serverWindowRequested is int requested)
        {
            if (requested < 9)
            {
                return false;
            }

            serverWindow = Math.Min(serverWindow, requested);
        }

        // We may only announce client_max_window_bits when the client offered the parameter (§7.1.2.2).
        int clientWindow = 15;
        bool announceClientWindow = false;
        if (clientWindowOffered)
        {
            int limit = clientWindowLimit ?? 15;
            clientWindow = Math.Min(options.ClientMaxWindowBits, limit);

            // Echo a value the client gave even when it is our choice too: some clients (.NET's) read its absence as 15.
            announceClientWindow = clientWindowLimit is not null || clientWindow < 15;
        }

        serverNoContextTakeover |= !options.ServerContextTakeover;
        clientNoContextTakeover |= !options.ClientContextTakeover;

        var text = new System.Text.StringBuilder(ExtensionName);
        if (serverNoContextTakeover)
        {
            text.Append("; server_no_context_takeover");
        }

        if (clientNoContextTakeover)
        {
            text.Append("; client_no_context_takeover");
        }

        if (serverWindowRequested is not null || serverWindow < 15)
        {
            text.Append("; server_max_window_bits=").Append(serverWindow);
        }

        if (announceClientWindow)
        {
            text.Append("; client_max_window_bits=").Append(clientWindow);
        }

        // A client window of 8 is decoded with 9: a larger inflate window reads any smaller-window stream.
        parameters = new PerMessageDeflateParameters(serverWindow, serverNoContextTakeover, Math.Max(clientWindow, 9), clientNoContextTakeover);
        response = text.ToString();
        return true;
    }

    /// <summary>1*DIGIT without leading zero, 8–15 (RFC 7692 §7.1.2).</summary>
    private static bool TryParseWindowBits(string? value, out int bits)
    {
        bits = 0;
        if (value is null || value.Length is < 1 or > 2 || value[0] == '0')
        {
            return false;
        }

        foreach (char c in value)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }

            bits = (bits * 10) + (c - '0');
        }

        return bits is >= 8 and <= 15;
    }
}
