using System.Net.Sockets;
using System.Reflection;

namespace AspNetWebSockets.Hosting;

/// <summary>
/// The runtime's inline socket completions (socket continuations run on the epoll thread instead of being queued to the
/// thread pool). .NET reads them from <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS</c> once, when the process's first
/// asynchronous socket operation initialises its socket engine, and offers no other switch; so the event-loop mode sets
/// the variable while the host is built, which is early enough unless a socket was used before.
/// </summary>
internal static class InlineSocketCompletions
{
    private const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Sets the variable unless the environment already decided (set to anything, it is left alone).</summary>
    public static void Request()
    {
        if (Environment.GetEnvironmentVariable(Variable) is null)
        {
            Environment.SetEnvironmentVariable(Variable, "1");
        }
    }

    /// <summary>Whether they are on, read from the socket engine (which initialises it); null where that cannot be read (not Unix, or a runtime that renamed it).</summary>
    public static bool? Enabled()
    {
        // An internal field of System.Net.Sockets: read only to report the mode honestly, never to change it.
        FieldInfo? field = typeof(Socket).Assembly.GetType("System.Net.Sockets.SocketAsyncEngine")
            ?.GetField("InlineSocketCompletionsEnabled", BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public);
        try
        {
            return field?.GetValue(null) as bool?;
        }
        catch (Exception e) when (e is TargetInvocationException or TypeInitializationException or MemberAccessException)
        {
            return null;
        }
    }

    /// <summary>For the startup log line.</summary>
    public static string Describe() => Enabled() switch
    {
        true => "on",
        false => $"off (a socket was used before the host was built, or {Variable} is not 1: set it to 1 in the process's environment)",
        null => "unknown on this platform",
    };
}
