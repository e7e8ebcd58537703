using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace AspNetWebSockets.Diagnostics;

/// <summary>
/// The server's traces, on the <see cref="ActivitySource"/> <c>AspNetWebSockets</c> (OpenTelemetry:
/// <c>.AddSource("AspNetWebSockets")</c>). OpenTelemetry has no WebSocket convention yet (semantic-conventions#2841), so the
/// names and attributes follow its HTTP and messaging conventions; they are listed in the README ("Operating it").
/// </summary>
/// <remarks>
/// Two spans per connection, both children of the upgrade request's own span (so a <c>traceparent</c> sent with the
/// upgrade request carries into them): <see cref="UpgradeActivityName"/> for the 101/200 answer and
/// <see cref="ConnectionActivityName"/> for the connection's whole life, ended with its close code, reason and
/// cleanliness. Per-message spans (<see cref="ProcessActivityName"/>) are off by default — see
/// <see cref="WebSocketTracingOptions"/>. Starting a span costs a listener check when nobody listens.
/// </remarks>
internal static class WebSocketActivitySource
{
    /// <summary>The source's name, the same as the meter's.</summary>
    public const string Name = "AspNetWebSockets";

    /// <summary>From the accepted handshake to the open connection: response headers, 101 or 200, transport choice.</summary>
    public const string UpgradeActivityName = "websocket.server.upgrade";

    /// <summary>From the open connection until it is closed; carries the close code, reason and cleanliness.</summary>
    public const string ConnectionActivityName = "websocket.server.connection";

    /// <summary>One received message while the application handles it (messaging's <c>process</c> operation).</summary>
    public const string ProcessActivityName = "websocket.server.process";

    public static readonly ActivitySource Source = new(Name);

    /// <summary>
    /// The parent of a connection's spans: the request's span (<see cref="Activity.Current"/>) when ASP.NET Core created one,
    /// else the trace context the client sent (<c>traceparent</c>/<c>tracestate</c>, read by the process's
    /// <see cref="DistributedContextPropagator"/>), so the trace continues even when only this source is listened to.
    /// </summary>
    public static ActivityContext ParentOf(HttpContext context)
    {
        if (Activity.Current is { } current)
        {
            return current.Context;
        }

        DistributedContextPropagator.Current.ExtractTraceIdAndState(
            context.Request.Headers,
            static (carrier, name, out value, out values) =>
            {
                values = null;
                value = ((IHeaderDictionary)carrier!)[name].ToString();
                if (value.Length == 0)
                {
                    value = null;
                }
            },
            out string? traceParent,
            out string? traceState);
        return ActivityContext.TryParse(traceParent, traceState, isRemote: true, out ActivityContext parsed) ? parsed : default;
    }

    /// <summary>Starts the upgrade span under <paramref name="parent"/> (see <see cref="ParentOf"/>), or returns null when nobody listens.</summary>
    public static Activity? StartUpgrade(HttpContext context, ActivityContext parent)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        string? route = RouteOf(context);
        Activity? activity = Source.StartActivity(UpgradeActivityName, ActivityKind.Internal, parent);
        if (activity is null)
        {
            return null;
        }

        activity.DisplayName = route is null ? "upgrade" : "upgrade " + route;
        if (activity.IsAllDataRequested)
        {
            SetRequestTags(activity, context, route);
        }

        return activity;
    }

    /// <summary>Ends the upgrade span, marking it failed when <paramref name="error"/> is set.</summary>
    public static void StopUpgrade(Activity? activity, Exception? error)
    {
        if (activity is null)
        {
            return;
        }

        if (error is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, error.GetType().Name);
            activity.SetTag("error.type", error.GetType().FullName);
        }

        activity.Stop();
    }

    /// <summary>
    /// Starts the connection span beside the upgrade span, under <paramref name="parent"/> (see <see cref="ParentOf"/>), without
    /// making it <see cref="Activity.Current"/>: it outlives the request's async flow and is stopped from
    /// <see cref="StopConnection"/> when the connection closes.
    /// </summary>
    public static Activity? StartConnection(HttpContext context, ActivityContext parent, string? subProtocol, string extensions)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        Activity? previous = Activity.Current;
        string? route = RouteOf(context);
        Activity? activity = Source.StartActivity(ConnectionActivityName, ActivityKind.Server, parent);
        Activity.Current = previous;
        if (activity is null)
        {
            return null;
        }

        activity.DisplayName = route is null ? "connection" : "connection " + route;
        if (activity.IsAllDataRequested)
        {
            SetRequestTags(activity, context, route);
            if (!string.IsNullOrEmpty(subProtocol))
            {
                activity.SetTag("websocket.subprotocol", subProtocol);
            }

            if (!string.IsNullOrEmpty(extensions))
            {
                activity.SetTag("websocket.extensions", extensions);
            }
        }

        return activity;
    }

    /// <summary>
    /// Stops <paramref name="activity"/> when <paramref name="connection"/> closes, tagging it with the close code, reason and
    /// cleanliness; an unclean close (1006) or an internal error (1011) marks the span as failed.
    /// </summary>
    public static void StopWhenClosed(Activity activity, WebSocketConnection connection) =>
        connection.Closed.ContinueWith(
            static (closed, state) => StopConnection((Activity)state!, closed.Result),
            activity,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously | TaskContinuationOptions.OnlyOnRanToCompletion,
            TaskScheduler.Default);

    /// <summary>Tags and stops a connection span with how the connection ended.</summary>
    public static void StopConnection(Activity activity, WebSocketCloseInfo close)
    {
        activity.SetTag("websocket.close.code", close.Code);
        activity.SetTag("websocket.close.reason", close.Reason);
        activity.SetTag("websocket.close.clean", close.WasClean);
        if (!close.WasClean || close.Code == WebSocketCloseCode.InternalServerError)
        {
            activity.SetStatus(ActivityStatusCode.Error, close.WasClean ? "internal error" : "closed without a close handshake");
            activity.SetTag("error.type", close.Code.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        activity.Stop();
    }

    private static void SetRequestTags(Activity activity, HttpContext context, string? route)
    {
        activity.SetTag("network.protocol.name", "websocket");
        activity.SetTag("network.protocol.version", "13");
        activity.SetTag("websocket.connection.id", context.Connection.Id);
        if (route is not null)
        {
            activity.SetTag("http.route", route);
        }

        activity.SetTag("url.path", context.Request.Path.Value);
    }

    private static string? RouteOf(HttpContext context) => (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText;
}
