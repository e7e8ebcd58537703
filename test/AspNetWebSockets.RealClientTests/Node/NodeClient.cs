using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AspNetWebSockets.RealClientTests;

/// <summary>Runs node/client.mjs (Node's <c>ws</c> client) for one scenario and returns the JSON it printed.</summary>
internal static class NodeClient
{
    private static readonly TimeSpan DefaultLimit = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Starts <c>node client.mjs url scenario options</c> and waits at most <paramref name="limit"/> (30 s by default);
    /// a client still running then is killed and the test fails with what it printed so far.
    /// </summary>
    public static async Task<JsonElement> RunAsync(Uri url, string scenario, object? options = null, TimeSpan? limit = null)
    {
        string node = Prerequisites.RequireNodeWs();
        TimeSpan timeLimit = limit ?? DefaultLimit;
        var start = new ProcessStartInfo(node)
        {
            WorkingDirectory = Prerequisites.NodeClientDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("client.mjs");
        start.ArgumentList.Add(url.ToString());
        start.ArgumentList.Add(scenario);
        start.ArgumentList.Add(OptionsJson(options, timeLimit));

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {node}.");
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(timeLimit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
            Assert.Fail($"node client.mjs {scenario} did not finish within {timeLimit.TotalSeconds} s and was killed. stdout: {await stdout} stderr: {await stderr}");
        }

        string output = await stdout;
        string errors = await stderr;
        if (errors.Length > 0)
        {
            TestContext.Current.TestOutputHelper?.WriteLine($"[node stderr] {errors}");
        }

        Assert.True(process.ExitCode == 0, $"node client.mjs {scenario} exited with {process.ExitCode}. stderr: {errors} stdout: {output}");
        string? line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        Assert.False(string.IsNullOrEmpty(line), $"node client.mjs {scenario} printed no result. stderr: {errors}");
        TestContext.Current.TestOutputHelper?.WriteLine($"[node {scenario}] {line}");
        using JsonDocument document = JsonDocument.Parse(line);
        return document.RootElement.Clone();
    }

    /// <summary>The scenario's options, plus the script's own deadline a little inside ours so it reports what it waited for.</summary>
    private static string OptionsJson(object? options, TimeSpan limit)
    {
        JsonObject json = JsonSerializer.SerializeToNode(options ?? new { })!.AsObject();
        json["timeoutMs"] = Math.Max(1000, (int)limit.TotalMilliseconds - 2000);
        return json.ToJsonString();
    }
}
