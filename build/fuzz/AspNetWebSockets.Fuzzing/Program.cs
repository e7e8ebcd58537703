using AspNetWebSockets.Fuzzing;
using SharpFuzz;

// The fuzzing harness. Usage:
//   AspNetWebSockets.Fuzzing <target>                  run under afl-fuzz (reads each input from stdin; outside AFL, runs once)
//   AspNetWebSockets.Fuzzing <target> <file|dir>...    replay inputs without AFL; exit 1 on the first failure
//   AspNetWebSockets.Fuzzing seeds <corpus-dir>        (re)write the hand-made seed corpus, one folder per target
// Targets: frames, handshake, inflate, utf8 (see test/AspNetWebSockets.Tests/Fuzzing/Targets).

if (args.Length == 0)
{
    Console.Error.WriteLine($"usage: AspNetWebSockets.Fuzzing <{string.Join('|', FuzzTargets.Names)}> [input files or folders...] | seeds <corpus-dir>");
    return 2;
}

if (args[0] == "seeds")
{
    if (args.Length != 2)
    {
        Console.Error.WriteLine("usage: AspNetWebSockets.Fuzzing seeds <corpus-dir>");
        return 2;
    }

    int written = SeedCorpus.Write(args[1]);
    Console.WriteLine($"wrote {written} seed files under {args[1]}");
    return 0;
}

string target = args[0];
if (!FuzzTargets.Names.Contains(target))
{
    Console.Error.WriteLine($"unknown target '{target}'; known: {string.Join(", ", FuzzTargets.Names)}");
    return 2;
}

if (args.Length > 1)
{
    return Replay(target, args[1..]);
}

// Out of process: SharpFuzz runs the target in a child process that it restarts if it dies, so a hang (killed by
// afl-fuzz's timeout) or a stack overflow is reported as such instead of taking the fork server down with it.
Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    FuzzTargets.Run(target, buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
});
return 0;

static int Replay(string target, string[] paths)
{
    int count = 0;
    foreach (string path in paths)
    {
        IEnumerable<string> files = Directory.Exists(path)
            ? Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Where(f => !Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal)
            : [path];
        foreach (string file in files)
        {
            try
            {
                FuzzTargets.Run(target, File.ReadAllBytes(file));
                count++;
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"{target}: {file}: {e}");
                return 1;
            }
        }
    }

    Console.WriteLine($"{target}: {count} inputs replayed, no failures");
    return 0;
}
