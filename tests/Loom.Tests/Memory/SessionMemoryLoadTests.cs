using Loom.Memory;
using Loom.Sessions;
using Loom.Storage;
using Loom.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using static Loom.Tests.Memory.MemoryTestKit;

namespace Loom.Tests.Memory;

/// <summary>
/// A session's first load after a create (usually its first turn, on a silo that never saw the create) lists no memory
/// rows while the header says none were ever written; once one is staged, every later activation reads them.
/// </summary>
public sealed class SessionMemoryLoadTests
{
    private static readonly GrainId Session = GrainId.Create("session", "s-load");
    private readonly CountingRowStore _rows = new();
    private readonly WorldMemoryFactory _factory = new(Microsoft.Extensions.Options.Options.Create(Options()), TiktokenCounter.Instance,
        new HashingEmbeddingGenerator());

    [Fact]
    public async Task A_new_session_lists_no_memory_rows_until_it_has_written_one()
    {
        await CreateAsync(new SessionState { Exists = true, LastSeq = 1, MemoryUnwritten = true });

        var (header, store) = await ActivateAsync();
        var memory = await store.GetAsync();
        Assert.Equal(0, memory.Count);
        Assert.Equal(0, _rows.MemoryLists);

        memory.Apply([Upsert(EntityType.Character, "Mira", "a smuggler")], 1);
        var unit = header.Begin();
        store.Stage(unit, memory);
        Assert.False(header.State.MemoryUnwritten);
        await header.CommitAsync(unit);

        var (_, next) = await ActivateAsync();
        Assert.Equal("a smuggler", (await next.GetAsync()).Get("character:mira")?.Content);
        Assert.Equal(1, _rows.MemoryLists);
    }

    [Fact]
    public async Task A_staged_write_that_is_abandoned_leaves_the_header_saying_nothing_was_written()
    {
        await CreateAsync(new SessionState { Exists = true, LastSeq = 1, MemoryUnwritten = true });
        var (header, store) = await ActivateAsync();
        var memory = await store.GetAsync();
        memory.Apply([Upsert(EntityType.Item, "Lantern", "brass")], 1);

        // Another activation wrote the header meanwhile: this commit is refused whole, and the grain abandons it.
        var (other, _) = await ActivateAsync();
        await other.CommitAsync();
        var unit = header.Begin();
        store.Stage(unit, memory);
        await Assert.ThrowsAsync<Orleans.Storage.InconsistentStateException>(() => header.CommitAsync(unit));
        header.Abandon(unit);
        Assert.True(header.State.MemoryUnwritten);
    }

    [Fact]
    public async Task A_header_written_before_the_flag_existed_reads_its_memory_rows()
    {
        // An older build's header has no such field: it reads false, and the rows it wrote are found.
        await CreateAsync(new SessionState { Exists = true, LastSeq = 1 });
        var (header, store) = await ActivateAsync();
        var memory = await store.GetAsync();
        memory.Apply([Upsert(EntityType.Location, "Harbor", "fog")], 1);
        var unit = header.Begin();
        store.Stage(unit, memory);
        await header.CommitAsync(unit);

        var (_, next) = await ActivateAsync();
        Assert.Equal("fog", (await next.GetAsync()).Get("location:harbor")?.Content);
        Assert.Equal(2, _rows.MemoryLists);
    }

    private async Task CreateAsync(SessionState state)
    {
        var header = new GrainRows<SessionState>(_rows, Session, "session") { State = state };
        await header.CommitAsync();
    }

    private async Task<(GrainRows<SessionState> Header, SessionMemoryStore Store)> ActivateAsync()
    {
        var header = new GrainRows<SessionState>(_rows, Session, "session");
        await header.ReadHeaderAsync();
        return (header, new SessionMemoryStore("s-load", _rows, header, _factory, NullLogger.Instance));
    }

    /// <summary>Rows in a dictionary, versions fenced like the real store, memory lists counted.</summary>
    private sealed class CountingRowStore : IGrainRowStore
    {
        private readonly Dictionary<(GrainId, string), StoredRow> _rows = [];

        public int MemoryLists { get; private set; }

        public Task<StoredRow?> ReadAsync(GrainId grain, string name) => Task.FromResult(_rows.GetValueOrDefault((grain, name)));

        public Task<IReadOnlyList<StoredRow>> ReadManyAsync(GrainId grain, IReadOnlyList<string> names) =>
            Task.FromResult<IReadOnlyList<StoredRow>>([.. names.Select(n => _rows.GetValueOrDefault((grain, n))).OfType<StoredRow>().Where(r => r.Payload is not null)]);

        public Task<IReadOnlyList<StoredRow>> ListAsync(GrainId grain, string prefix)
        {
            if (prefix.StartsWith("memory", StringComparison.Ordinal)) MemoryLists++;
            return Task.FromResult<IReadOnlyList<StoredRow>>([.. _rows.Where(r => r.Key.Item1 == grain && r.Key.Item2.StartsWith(prefix, StringComparison.Ordinal) && r.Value.Payload is not null)
                .OrderBy(r => r.Key.Item2, StringComparer.Ordinal).Select(r => r.Value)]);
        }

        public Task<int> CommitAsync(RowCommit commit)
        {
            var version = 0;
            if (commit.HeaderName is { } name)
            {
                var current = _rows.GetValueOrDefault((commit.Grain, name));
                if (current?.Version != commit.ExpectedVersion) throw new Orleans.Storage.InconsistentStateException("stale header");
                version = (current?.Version ?? 0) + 1;
                _rows[(commit.Grain, name)] = new StoredRow(name, commit.HeaderPayload, version);
            }
            foreach (var row in commit.Rows)
            {
                if (row.Payload is null) _rows.Remove((row.Grain, row.Name));
                else _rows[(row.Grain, row.Name)] = new StoredRow(row.Name, row.Payload, 1);
            }
            return Task.FromResult(version);
        }

        public byte[] Serialize<T>(T value) => Serializer.SerializeToArray(value);

        public T Deserialize<T>(byte[] payload) => Serializer.Deserialize<T>(payload)!;
    }
}
