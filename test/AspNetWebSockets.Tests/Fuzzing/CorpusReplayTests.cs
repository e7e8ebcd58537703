using AspNetWebSockets.Fuzzing;

namespace AspNetWebSockets.Tests.Fuzzing;

/// <summary>
/// Replays the committed fuzz corpus (build/fuzz/corpus/&lt;target&gt;) through the same target code AFL++ runs, without
/// instrumentation, so every CI run re-checks every input the fuzzer ever found interesting, in seconds.
/// </summary>
public sealed class CorpusReplayTests
{
    public static TheoryData<string> Targets => new(FuzzTargets.Names);

    [Theory]
    [MemberData(nameof(Targets))]
    public void Every_corpus_input_passes_the_target_invariants(string target)
    {
        string folder = Path.Combine(FindRepositoryRoot(), "build", "fuzz", "corpus", target);
        string[] files = Directory.GetFiles(folder).Where(f => !Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal).ToArray();

        // The corpus is committed; an empty folder means it went missing, not that there is nothing to check.
        Assert.NotEmpty(files);
        var failures = new List<string>();
        foreach (string file in files)
        {
            try
            {
                FuzzTargets.Run(target, File.ReadAllBytes(file));
            }
            catch (Exception e)
            {
                failures.Add($"{Path.GetFileName(file)}: {e.GetType().Name}: {e.Message}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {files.Length} '{target}' corpus inputs failed:\n{string.Join('\n', failures)}");
    }

    [Fact]
    public void The_corpus_stays_small()
    {
        // AFL finds are minimized before they are committed; this keeps the repository and the replay fast.
        string corpus = Path.Combine(FindRepositoryRoot(), "build", "fuzz", "corpus");
        long total = Directory.EnumerateFiles(corpus, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.InRange(total, 1, 2 * 1024 * 1024);
    }

    [Fact]
    public void An_unknown_target_name_is_refused()
    {
        Assert.Throws<ArgumentException>(() => FuzzTargets.Run("no-such-target", []));
    }

    [Fact]
    public void A_broken_invariant_surfaces_as_an_exception()
    {
        // The harness relies on this: AFL counts a crash only if the invariant check throws.
        Assert.Throws<FuzzInvariantException>(() => FuzzInvariantException.Check(false, "broken"));
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "AspNetWebSockets.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No AspNetWebSockets.sln above {AppContext.BaseDirectory}: the corpus replay runs from a repository checkout.");
    }
}
