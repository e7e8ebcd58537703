namespace AspNetWebSockets;

/// <summary>Who a message from <see cref="IWebSocketSender"/> is for.</summary>
public enum WebSocketTargetKind : byte
{
    /// <summary>One connection, by <see cref="WebSocketConnection.ConnectionId"/>.</summary>
    Connection = 1,

    /// <summary>Every connection of one user (see <see cref="IWebSocketUserIdProvider"/>).</summary>
    User = 2,

    /// <summary>Every member of a group (see <see cref="IWebSocketGroups"/>), minus the excepted connections.</summary>
    Group = 3,

    /// <summary>Every open connection, minus the excepted connections.</summary>
    All = 4,
}

/// <summary>
/// The addressee of a message sent through <see cref="IWebSocketSender"/>, on whatever node it is connected:
/// <c>WebSocketTarget.User("42")</c>, <c>WebSocketTarget.Group("room", except: [socket.ConnectionId])</c>.
/// </summary>
public readonly struct WebSocketTarget
{
    private readonly string[]? _except;

    private WebSocketTarget(WebSocketTargetKind kind, string? name, string[]? except)
    {
        Kind = kind;
        Name = name;
        _except = except;
    }

    /// <summary>What kind of addressee this is.</summary>
    public WebSocketTargetKind Kind { get; }

    /// <summary>The connection id, user id or group name; null for <see cref="WebSocketTargetKind.All"/>.</summary>
    public string? Name { get; }

    /// <summary>Connection ids that must not get the message (group and all only); checked linearly, so keep it short.</summary>
    public IReadOnlyList<string> Except => _except ?? [];

    /// <summary>One connection.</summary>
    /// <param name="connectionId">Its <see cref="WebSocketConnection.ConnectionId"/>.</param>
    /// <returns>The target.</returns>
    public static WebSocketTarget Connection(string connectionId) => new(WebSocketTargetKind.Connection, NotEmpty(connectionId), null);

    /// <summary>Every connection of a user, on every node.</summary>
    /// <param name="userId">The id <see cref="IWebSocketUserIdProvider"/> gave the user's connections.</param>
    /// <returns>The target.</returns>
    public static WebSocketTarget User(string userId) => new(WebSocketTargetKind.User, NotEmpty(userId), null);

    /// <summary>Every member of a group, on every node, except some connections.</summary>
    /// <param name="group">The group's name.</param>
    /// <param name="except">Connection ids to leave out (typically the sender's).</param>
    /// <returns>The target.</returns>
    public static WebSocketTarget Group(string group, params string[] except) => new(WebSocketTargetKind.Group, NotEmpty(group), Copy(except));

    /// <summary>Every open connection on every node, except some.</summary>
    /// <param name="except">Connection ids to leave out.</param>
    /// <returns>The target.</returns>
    public static WebSocketTarget All(params string[] except) => new(WebSocketTargetKind.All, null, Copy(except));

    /// <summary>Whether a connection id is excepted.</summary>
    internal bool Excludes(string connectionId) => _except is not null && Array.IndexOf(_except, connectionId) >= 0;

    /// <summary>Rebuilds a target from its parts, e.g. as received by a backplane from another node.</summary>
    /// <param name="kind">The kind.</param>
    /// <param name="name">The connection id, user id or group name; null for <see cref="WebSocketTargetKind.All"/>.</param>
    /// <param name="except">Excepted connection ids (group and all only), or null.</param>
    /// <returns>The target.</returns>
    /// <exception cref="ArgumentException">The parts do not make a target of that kind.</exception>
    public static WebSocketTarget Create(WebSocketTargetKind kind, string? name, string[]? except) => kind switch
    {
        WebSocketTargetKind.Connection when except is null or [] => Connection(name!),
        WebSocketTargetKind.User when except is null or [] => User(name!),
        WebSocketTargetKind.Group => Group(name!, except ?? []),
        WebSocketTargetKind.All when name is null => All(except ?? []),
        _ => throw new ArgumentException($"Not a valid {kind} target.", nameof(kind)),
    };

    private static string NotEmpty(string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        return value;
    }

    private static string[]? Copy(string[]? except)
    {
        if (except is null || except.Length == 0)
        {
            return null;
        }

        foreach (string id in except)
        {
            ArgumentException.ThrowIfNullOrEmpty(id, nameof(except));
        }

        return (string[])except.Clone();
    }
}
