using System.Text;
using AspNetWebSockets.Compression;
using AspNetWebSockets.Extensions;
using AspNetWebSockets.Handshake;
using Microsoft.Extensions.Primitives;

namespace AspNetWebSockets.Fuzzing;

/// <summary>
/// Target "handshake": the pure handshake layer — <see cref="HandshakeValidator"/>, <see cref="HeaderTokens"/>,
/// <see cref="ExtensionHeaderParser"/>, <see cref="PerMessageDeflateNegotiation"/>, <see cref="SubProtocolSelector"/>,
/// <see cref="OriginPolicy"/> and <see cref="WebSocketAccept"/> — over arbitrary header values.
/// </summary>
/// <remarks>
/// Input layout: one flags byte, then fields separated by <c>\n</c>, in the order of <see cref="Field"/>. Within a
/// field, <c>\v</c> separates header lines (a header sent twice) and a line that is exactly <c>\0</c> is a null entry.
/// Bytes map to chars as Latin-1 (all of 0–255 reach the parsers, as Kestrel can pass them), or, with flags bit 0,
/// as UTF-8 so that non-Latin characters and replacement characters appear too.
/// Invariants: nothing throws; validation and parsing agree with each other (IsValid and TryParse, list parsing with
/// and without output); parsed tokens are tokens; parsed extension offers survive formatting and re-parsing; an
/// accepted permessage-deflate offer yields in-range parameters and a response that parses as one offer; a chosen
/// subprotocol was offered by both sides; a valid request has a key that hashes to a 28-character accept value; an
/// origin admitted by its own normalized form is allowed.
/// </remarks>
internal static class HandshakeTarget
{
    private enum Field
    {
        Method,
        Protocol,
        Host,
        Upgrade,
        Connection,
        Key,
        Version,
        SubProtocols,
        Extensions,
        ContentLength,
        TransferEncoding,
        Origin,
        AllowedOrigins,
        ConnectProtocol,
        ServerSubProtocols,
        Count,
    }

    public static void Run(ReadOnlySpan<byte> data)
    {
        var input = new FuzzInput(data);
        byte flags = input.Byte();
        string text = (flags & 1) != 0 ? Encoding.UTF8.GetString(input.Rest) : Encoding.Latin1.GetString(input.Rest);
        string[] parts = text.Split('\n');
        var fields = new StringValues[(int)Field.Count];
        for (int i = 0; i < fields.Length && i < parts.Length; i++)
        {
            string[] lines = parts[i].Split('\v');
            string?[] values = new string?[lines.Length];
            for (int j = 0; j < lines.Length; j++)
            {
                values[j] = lines[j] == "\0" ? null : lines[j];
            }

            fields[i] = values.Length == 1 ? new StringValues(values[0]) : new StringValues(values);
        }

        StringValues Get(Field f) => fields[(int)f];
        string First(Field f) => Get(f).Count > 0 ? Get(f)[0] ?? string.Empty : string.Empty;

        long? contentLength = long.TryParse(First(Field.ContentLength), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out long parsed) ? parsed : null;
        var request = new HandshakeRequest
        {
            Method = First(Field.Method),
            Protocol = First(Field.Protocol),
            Host = Get(Field.Host),
            Upgrade = Get(Field.Upgrade),
            Connection = Get(Field.Connection),
            SecWebSocketKey = Get(Field.Key),
            SecWebSocketVersion = Get(Field.Version),
            SecWebSocketProtocol = Get(Field.SubProtocols),
            SecWebSocketExtensions = Get(Field.Extensions),
            ContentLength = contentLength,
            TransferEncoding = Get(Field.TransferEncoding),
        };

        CheckValidation(request, First(Field.ConnectProtocol));
        List<string> offered = CheckTokenList(Get(Field.SubProtocols));
        CheckSelection(Get(Field.ServerSubProtocols), offered);
        List<ExtensionOffer> offers = CheckExtensions(Get(Field.Extensions));
        CheckDeflateNegotiation(offers, flags);
        CheckOrigin(First(Field.Origin), First(Field.Host), (flags & 2) != 0 ? "https" : "http", Get(Field.AllowedOrigins));
        CheckAccept(First(Field.Key));
    }

    private static void CheckValidation(in HandshakeRequest request, string connectProtocol)
    {
        HandshakeFailure failure = HandshakeValidator.Validate(request);
        FuzzInvariantException.Check(Enum.IsDefined(failure), $"undefined failure {failure}");
        _ = failure.ToStatusCode();
        if (failure == HandshakeFailure.None)
        {
            FuzzInvariantException.Check(request.SecWebSocketKey.Count == 1 && HandshakeValidator.IsValidKey(request.SecWebSocketKey[0]), "a request with an invalid key was accepted");
            FuzzInvariantException.Check(HandshakeValidator.IsHttp11OrLater(request.Protocol), "a request below HTTP/1.1 was accepted");
            Span<char> accept = stackalloc char[WebSocketAccept.Length];
            FuzzInvariantException.Check(
                WebSocketAccept.TryCompute(request.SecWebSocketKey[0], accept, out int written) && written == WebSocketAccept.Length,
                "an accepted key has no accept value");
        }

        HandshakeFailure connect = HandshakeValidator.ValidateExtendedConnect(connectProtocol, request);
        FuzzInvariantException.Check(Enum.IsDefined(connect), $"undefined failure {connect}");
    }

    private static List<string> CheckTokenList(StringValues values)
    {
        var tokens = new List<string> { "sentinel" };
        bool valid = HeaderTokens.TryParseTokenList(values, HandshakeValidator.MaxListHeaderLength, tokens);
        FuzzInvariantException.Check(valid == HeaderTokens.TryParseTokenList(values, HandshakeValidator.MaxListHeaderLength, tokens: null), "token list validity depends on whether tokens are collected");
        FuzzInvariantException.Check(tokens[0] == "sentinel", "TryParseTokenList changed entries it did not add");
        if (!valid)
        {
            FuzzInvariantException.Check(tokens.Count == 1, "a failed TryParseTokenList left tokens behind");
        }

        tokens.RemoveAt(0);
        foreach (string token in tokens)
        {
            FuzzInvariantException.Check(HeaderTokens.IsToken(token), $"parsed '{token}' is not a token");
            FuzzInvariantException.Check(HeaderTokens.Contains(values, token), $"Contains does not find parsed token '{token}'");
        }

        return tokens;
    }

    private static void CheckSelection(StringValues serverValues, List<string> offered)
    {
        var server = new List<string>();
        foreach (string? value in serverValues)
        {
            server.Add(value ?? string.Empty);
        }

        string? chosen = SubProtocolSelector.Select(server, offered);
        if (chosen is not null)
        {
            FuzzInvariantException.Check(server.Contains(chosen, StringComparer.Ordinal) && offered.Contains(chosen, StringComparer.Ordinal), $"chose '{chosen}', which one side did not list");
        }
    }

    private static List<ExtensionOffer> CheckExtensions(StringValues values)
    {
        var offers = new List<ExtensionOffer>();
        bool valid = ExtensionHeaderParser.TryParse(values, HandshakeValidator.MaxListHeaderLength, offers);
        FuzzInvariantException.Check(valid == ExtensionHeaderParser.IsValid(values, HandshakeValidator.MaxListHeaderLength), "IsValid and TryParse disagree");
        if (!valid)
        {
            FuzzInvariantException.Check(offers.Count == 0, "a failed TryParse left offers behind");
            return offers;
        }

        foreach (ExtensionOffer offer in offers)
        {
            FuzzInvariantException.Check(HeaderTokens.IsToken(offer.Name), $"extension name '{offer.Name}' is not a token");
            foreach ((string name, string? value) in offer.Parameters)
            {
                FuzzInvariantException.Check(HeaderTokens.IsToken(name), $"parameter name '{name}' is not a token");
                FuzzInvariantException.Check(value is null || HeaderTokens.IsToken(value), $"parameter value '{value}' is not a token");
            }

            // Formatting an offer and parsing it again must give the same offer: the parser and ToString agree on syntax.
            var again = new List<ExtensionOffer>();
            FuzzInvariantException.Check(ExtensionHeaderParser.TryParse(offer.ToString(), int.MaxValue, again) && again.Count == 1, $"'{offer}' does not re-parse");
            FuzzInvariantException.Check(again[0].Name == offer.Name && again[0].Parameters.SequenceEqual(offer.Parameters), $"'{offer}' re-parses differently");
        }

        return offers;
    }

    private static void CheckDeflateNegotiation(List<ExtensionOffer> offers, byte flags)
    {
        var options = new WebSocketCompressionOptions
        {
            Enabled = true,
            ServerMaxWindowBits = 9 + ((flags >> 2) & 7) % 7,
            ClientMaxWindowBits = 9 + ((flags >> 5) & 7) % 7,
            ServerContextTakeover = (flags & 0x80) == 0,
        };

        foreach (ExtensionOffer offer in offers)
        {
            if (!PerMessageDeflateNegotiation.TryAccept(offer, options, out PerMessageDeflateParameters? parameters, out string? response))
            {
                continue;
            }

            FuzzInvariantException.Check(offer.Name.Length > 0, "accepted an offer without a name");
            FuzzInvariantException.Check(parameters.ServerWindowBits is >= 9 and <= 15 && parameters.ServerWindowBits <= options.ServerMaxWindowBits, $"server window {parameters.ServerWindowBits}");
            FuzzInvariantException.Check(parameters.ClientWindowBits is >= 9 and <= 15, $"client window {parameters.ClientWindowBits}");
            var answer = new List<ExtensionOffer>();
            FuzzInvariantException.Check(ExtensionHeaderParser.TryParse(response, int.MaxValue, answer) && answer.Count == 1, $"response '{response}' does not parse as one extension");
            FuzzInvariantException.Check(answer[0].Name == PerMessageDeflateNegotiation.ExtensionName, $"response '{response}' names another extension");
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach ((string name, _) in answer[0].Parameters)
            {
                FuzzInvariantException.Check(names.Add(name), $"response '{response}' repeats {name}");
            }
        }

        var negotiation = new PerMessageDeflateNegotiation(options);
        if (negotiation.TryNegotiate(offers, out _, out IWebSocketExtensionSession? session))
        {
            session.Dispose();
        }
    }

    private static void CheckOrigin(string origin, string host, string scheme, StringValues allowedValues)
    {
        var allowed = new List<string>();
        foreach (string? value in allowedValues)
        {
            allowed.Add(value ?? string.Empty);
        }

        _ = OriginPolicy.IsAllowed(origin, host, scheme, allowed, allowAny: false);
        FuzzInvariantException.Check(OriginPolicy.IsAllowed(origin, host, scheme, allowed, allowAny: true), "allowAny refused an origin");
        if (OriginPolicy.TryNormalize(origin, out string normalized))
        {
            FuzzInvariantException.Check(OriginPolicy.TryNormalize(normalized, out string twice) && twice == normalized, $"normalizing '{normalized}' again gives something else");
            FuzzInvariantException.Check(OriginPolicy.IsAllowed(origin, host, scheme, [normalized], allowAny: false), $"'{origin}' is refused by its own normalized form '{normalized}'");
        }

        foreach (string entry in allowed)
        {
            _ = OriginPolicy.TryNormalize(entry, out _);
        }
    }

    private static void CheckAccept(string key)
    {
        Span<char> accept = stackalloc char[WebSocketAccept.Length];
        if (WebSocketAccept.TryCompute(key, accept, out int written))
        {
            FuzzInvariantException.Check(written == WebSocketAccept.Length, $"accept value of {written} chars");
        }
    }
}
