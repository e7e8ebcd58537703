using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace AspNetWebSockets.RealClientTests;

/// <summary>
/// Finds the real clients these tests drive. A missing one skips the test with the reason on a developer's machine
/// that has only the SDK, and fails it when <c>CI=true</c>: in CI a missing prerequisite is a broken install step,
/// never a silent skip. ./build/test.sh installs everything (./build/install-prerequisites.sh).
/// </summary>
internal static class Prerequisites
{
    /// <summary>Debian's <c>chromium</c> package; Playwright's own browser download does not work here.</summary>
    public const string ChromiumPath = "/usr/bin/chromium";

    private const string InstallHint = "run ./build/test.sh (it calls ./build/install-prerequisites.sh)";

    private static readonly Lazy<string?> NodeOnPath = new(() => FindOnPath("node"));

    /// <summary>True when the environment says this is CI (<c>CI=true</c>), where missing prerequisites fail.</summary>
    public static bool IsCI => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Where client.mjs, package.json and the installed node_modules live (the project's node/ folder).</summary>
    public static string NodeClientDirectory { get; } =
        typeof(Prerequisites).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "NodeClientDirectory").Value!;

    /// <summary>Skips (or, in CI, fails) the current test unless Chromium is installed.</summary>
    public static void RequireChromium()
    {
        if (!File.Exists(ChromiumPath))
        {
            Missing($"Chromium ({ChromiumPath}) is not installed; {InstallHint}.");
        }
    }

    /// <summary>Skips (or, in CI, fails) the current test unless node and the installed <c>ws</c> package are there.</summary>
    /// <returns>The path of the node executable.</returns>
    public static string RequireNodeWs()
    {
        string? node = NodeOnPath.Value;
        if (node is null)
        {
            Missing($"node is not installed (not on PATH); {InstallHint}.");
        }

        string ws = Path.Combine(NodeClientDirectory, "node_modules", "ws", "package.json");
        if (!File.Exists(ws))
        {
            Missing($"The Node package ws is not installed ({ws} is missing); {InstallHint}.");
        }

        return node;
    }

    [DoesNotReturn]
    private static void Missing(string message)
    {
        if (IsCI)
        {
            Assert.Fail($"{message} (CI=true: a missing prerequisite is a failure, not a skip.)");
        }

        Assert.Skip(message);
    }

    private static string? FindOnPath(string name)
    {
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
