namespace AspNetWebSockets;

/// <summary>Settings of <see cref="IWebSocketGroups"/> (<c>services.AddWebSocketGroups(o => ...)</c>).</summary>
public sealed class WebSocketGroupsOptions
{
    /// <summary>
    /// The outbound budget of one member: when its <see cref="WebSocketConnection.BufferedAmount"/> plus the broadcast's
    /// payload would exceed this, <see cref="SlowMemberPolicy"/> applies to that member instead of queueing more.
    /// Default 1 MiB.
    /// </summary>
    public long MaxBufferedAmountPerMember { get; set; } = 1024 * 1024;

    /// <summary>What happens to a member over its budget. Default <see cref="WebSocketBroadcastOverflowPolicy.DropMessage"/>.</summary>
    public WebSocketBroadcastOverflowPolicy SlowMemberPolicy { get; set; } = WebSocketBroadcastOverflowPolicy.DropMessage;
}

/// <summary>What a broadcast does for a member that is over its outbound budget (<see cref="WebSocketGroupsOptions.MaxBufferedAmountPerMember"/>).</summary>
public enum WebSocketBroadcastOverflowPolicy
{
    /// <summary>That member misses this message; it stays connected and gets later ones once it has caught up.</summary>
    DropMessage,

    /// <summary>
    /// The member is dropped at once and <see cref="WebSocketConnection.Closed"/> reports 1008 (policy violation). No close
    /// frame is sent: it would queue behind the data the peer is not reading, so the peer sees the connection drop.
    /// </summary>
    ClosePolicyViolation,

    /// <summary>As <see cref="ClosePolicyViolation"/>, reported as 1013 (try again later): the client may reconnect and resynchronise.</summary>
    CloseTryAgainLater,
}
