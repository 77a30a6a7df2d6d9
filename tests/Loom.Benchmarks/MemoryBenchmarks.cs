using BenchmarkDotNet.Attributes;
using Loom.Memory;
using Loom.Text;
using Microsoft.Extensions.AI;

namespace Loom.Benchmarks;

/// <summary>Issue 4 speed targets on a 10,000-entity memory.</summary>
[MemoryDiagnoser]
public class MemoryBenchmarks
{
    private WorldMemory _memory = null!;
    private string[] _ids = null!;
    private List<MemoryShard> _shards = null!;
    private byte[][] _shardBytes = null!;
    private readonly IEmbeddingGenerator<string, Embedding<float>> _embedder = new HashingEmbeddingGenerator(MemoryCorpus.Options.EmbeddingDimensions);
    private int _next;
    private int _seq;
    private readonly NameIndex _names = new();
    private readonly List<string> _story = [];

    [GlobalSetup]
    public void Setup()
    {
        _memory = MemoryCorpus.Build();
        _ids = _memory.All().Select(e => e.EntityId).ToArray();
        _shards = _memory.AllShards().ToList();
        _shardBytes = _shards.Select(s => MemoryCorpus.Serializer.SerializeToArray(s)).ToArray();
        _seq = _memory.HeadSeq;
        foreach (var entity in _memory.All()) _names.Add(entity.EntityId, [entity.Name]);
        for (var turn = 0; turn < 8; turn++)
        {
            _story.Add(MemoryCorpus.Queries[turn % MemoryCorpus.Queries.Length]);
            _story.Add(string.Join(" ", Enumerable.Range(turn * 8, 8).Select(MemoryCorpus.Sentence)));
        }
    }

    [Benchmark]
    public MemoryEntity? GetById() => _memory.Get(_ids[_next++ % _ids.Length]);

    [Benchmark]
    public Task<IReadOnlyList<ScoredEntity>> KeywordSearch() =>
        _memory.SearchAsync(MemoryCorpus.Queries[_next++ % MemoryCorpus.Queries.Length], SearchMode.Keyword, 10);

    [Benchmark]
    public Task<IReadOnlyList<ScoredEntity>> VectorSearch() =>
        _memory.SearchAsync(MemoryCorpus.Queries[_next++ % MemoryCorpus.Queries.Length], SearchMode.Vector, 10);

    /// <summary>What every turn asks about summaries: the last summarized turn (twice) and the live summaries.</summary>
    [Benchmark]
    public int SummaryLookups() => _memory.LastSummarizedSeq + _memory.LastSummarizedSeq + _memory.Summaries().Count();

    [Benchmark]
    public Task<MemoryRetrieval> HybridRetrieval() =>
        _memory.RetrieveAsync(MemoryCorpus.Queries[_next++ % MemoryCorpus.Queries.Length], MemoryCorpus.RecentStory, 2000);

    /// <summary>
    /// The name scan of a turn's recent story (8 turns: an input and a ~1,300-character narrative each) over the
    /// corpus's names: joined into one text first, as turns did until session 21, or read as its pieces.
    /// </summary>
    [Benchmark]
    public int StoryNameScanJoined() => _names.Scan(string.Join("\n", _story)).Count;

    [Benchmark]
    public int StoryNameScanPieces() => _names.Scan(_story).Count;

    /// <summary>A turn that writes 100 entities: apply, embed the changed ones, take the delta the grain writes.</summary>
    [Benchmark]
    public async Task<int> Store100Entities()
    {
        var seq = ++_seq;
        var ops = Enumerable.Range(0, 100).Select(i => MemoryCorpus.Entity((seq * 100 + i) % 10_000) with { Content = $"{MemoryCorpus.Sentence(seq + i)} ({seq})" }).ToList();
        _memory.Apply(ops, seq);
        await _memory.RefreshEmbeddingsAsync();
        return _memory.TakeChanges().Entities.Count;
    }

    /// <summary>Activation: rebuild every index from deserialized shards (vectors reused).</summary>
    [Benchmark]
    public int LoadFromShards() => WorldMemory.Load(_shards, MemoryCorpus.Options, TiktokenCounter.Instance, _embedder).Count;

    /// <summary>Activation including the storage serializer's work on the stored bytes.</summary>
    [Benchmark]
    public int LoadFromBytes() =>
        WorldMemory.Load(_shardBytes.Select(b => MemoryCorpus.Serializer.Deserialize<MemoryShard>(b)), MemoryCorpus.Options,
            TiktokenCounter.Instance, _embedder).Count;
}
