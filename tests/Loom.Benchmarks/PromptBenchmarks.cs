using BenchmarkDotNet.Attributes;
using Loom.Prompt;
using Loom.Text;
using Microsoft.Extensions.Options;

namespace Loom.Benchmarks;

/// <summary>
/// One turn's prompt assembly as a session makes it: the same canon, recent turns and memory lines as last turn,
/// plus one new memory line and a new input (so the context text differs every turn, as in play).
/// </summary>
[MemoryDiagnoser]
public class PromptBenchmarks
{
    private PromptAssembler _assembler = null!;
    private Dictionary<string, string> _canon = null!;
    private List<PromptTurn> _history = null!;
    private string[] _memoryLines = null!;
    private string _summaries = null!;
    private int _turn;

    [GlobalSetup]
    public void Setup()
    {
        _assembler = new PromptAssembler(Options.Create(new PromptOptions()), TiktokenCounter.Instance);
        _canon = new() { ["world.md"] = string.Join("\n", Enumerable.Range(0, 80).Select(i => MemoryCorpus.Sentence(i))) };
        _history = Enumerable.Range(0, 8).Select(i => new PromptTurn($"I try thing number {i}.", string.Join(' ', Enumerable.Range(i, 12).Select(MemoryCorpus.Sentence)))).ToList();
        _memoryLines = Enumerable.Range(0, 60).Select(i => $"- entity-{i} (character): {MemoryCorpus.Sentence(i)} {MemoryCorpus.Sentence(i + 7)}").ToArray();
        _summaries = string.Join("\n", Enumerable.Range(0, 10).Select(i => $"Turns {i * 10}-{i * 10 + 9}: {MemoryCorpus.Sentence(i + 100)}"));
    }

    [Benchmark]
    public int AssembleTurnPrompt()
    {
        var turn = ++_turn;
        var memory = string.Join("\n", _memoryLines) + $"\n- event-{turn} (event): {MemoryCorpus.Sentence(turn)}";
        var prompt = _assembler.Assemble(new PromptRequest
        {
            CanonFiles = _canon,
            Input = $"I look around, turn {turn}.",
            History = _history,
            Memory = memory,
            Summaries = _summaries,
            Tone = "Quiet, watchful.",
        });
        return prompt.PromptTokens;
    }
}
