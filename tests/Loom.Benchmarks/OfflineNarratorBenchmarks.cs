using BenchmarkDotNet.Attributes;
using Loom.Llm.Offline;
using Loom.Prompt;
using Microsoft.Extensions.AI;

namespace Loom.Benchmarks;

/// <summary>
/// The built-in offline narrator's work per turn on a bundled world (ember-vale): the whole answer, and the canon-name
/// scan it used to repeat on every turn beside the cached lookup that replaced it.
/// </summary>
[MemoryDiagnoser]
public class OfflineNarratorBenchmarks
{
    private List<ChatMessage> _messages = null!;
    private string _canon = null!;

    [GlobalSetup]
    public void Setup()
    {
        var folder = Path.Combine(RepoRoot(), "Grains", "Worlds", "Examples", "ember-vale");
        var files = Directory.GetFiles(folder, "*.md").Order(StringComparer.Ordinal).Select(File.ReadAllText);
        var system = $"{NarratorFormat.CanonHeader}\n{string.Join("\n\n", files)}\n{NarratorFormat.CanonFooter}";
        _messages =
        [
            new(ChatRole.System, system),
            new(ChatRole.User, "I push open the door of the Tallow Lamp inn and ask the keeper about the missing lamplighter."),
        ];
        _canon = CanonCues.CanonText(system);
        CanonCues.ExtractNames(_canon);
    }

    [Benchmark(Baseline = true)]
    public int NameScan() => CanonCues.FindNames(_canon).Count;

    [Benchmark]
    public int NamesCached() => CanonCues.ExtractNames(_canon).Count;

    [Benchmark]
    public int ComposeAnswer() => OfflineStoryteller.Compose(_messages).FullText.Length;

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Loom.Orleans.sln"))) return dir.FullName;
        }
        throw new DirectoryNotFoundException("Loom.Orleans.sln not found above " + AppContext.BaseDirectory);
    }
}
