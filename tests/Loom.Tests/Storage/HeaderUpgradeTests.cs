using Loom.Sessions;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;

namespace Loom.Tests.Storage;

/// <summary>
/// During a rolling upgrade old and new silos read each other's session headers. This build's header and a next
/// build's (one more optional field) are written and read across with the serializer the row store uses: each reads
/// the other's row, a field it does not know is skipped, one it lacks keeps its default.
/// </summary>
public sealed class HeaderUpgradeTests
{
    private readonly OrleansGrainStorageSerializer _rows = new(new ServiceCollection()
        .AddSerializer(b => b.AddAssembly(typeof(SessionState).Assembly).AddAssembly(typeof(HeaderUpgradeTests).Assembly))
        .BuildServiceProvider().GetRequiredService<Serializer>());

    [Fact]
    public void The_next_build_reads_this_builds_header_and_this_build_reads_the_next_ones()
    {
        var current = new SessionState
        {
            Exists = true, OwnerId = "alice", Name = "Ember run", WorldId = "ember-vale", CanonVersion = 3, CanonHash = "c0ffee",
            LastSeq = 12, TurnCount = 11, NextOrdinal = 13, StoredBytes = 4096,
        };

        var readByNext = _rows.Deserialize<NextBuildHeader>(_rows.Serialize(current))!;
        Assert.Equal((true, "alice", "Ember run", "ember-vale", 3, "c0ffee", 12, 11, 13L, 4096L),
            (readByNext.Exists, readByNext.OwnerId, readByNext.Name, readByNext.WorldId, readByNext.CanonVersion, readByNext.CanonHash,
             readByNext.LastSeq, readByNext.TurnCount, readByNext.NextOrdinal, readByNext.StoredBytes));
        Assert.Null(readByNext.Mood); // written by a build that did not have it: the default

        readByNext.Mood = "brooding";
        readByNext.TurnCount = 12;
        var readByCurrent = _rows.Deserialize<SessionState>(_rows.Serialize(readByNext))!;
        Assert.Equal(("alice", "ember-vale", 12, 13L), (readByCurrent.OwnerId, readByCurrent.WorldId, readByCurrent.TurnCount, readByCurrent.NextOrdinal));

        // What an old silo rewrites, it writes without the field it never knew: a new header field must be optional.
        var rewritten = _rows.Deserialize<NextBuildHeader>(_rows.Serialize(readByCurrent))!;
        Assert.Null(rewritten.Mood);
        Assert.Equal(12, rewritten.TurnCount);
    }

    /// <summary>A session header as a next build might store it: this build's fields (same ids) and one more.</summary>
    [GenerateSerializer, Alias("loom.tests.NextBuildHeader")]
    public sealed class NextBuildHeader
    {
        [Id(0)] public bool Exists { get; set; }
        [Id(1)] public string OwnerId { get; set; } = "";
        [Id(2)] public string Name { get; set; } = "";
        [Id(3)] public string WorldId { get; set; } = "";
        [Id(4)] public int CanonVersion { get; set; }
        [Id(5)] public string CanonHash { get; set; } = "";
        [Id(12)] public int LastSeq { get; set; }
        [Id(13)] public int TurnCount { get; set; }
        [Id(14)] public long NextOrdinal { get; set; }
        [Id(24)] public long StoredBytes { get; set; }
        [Id(900)] public string? Mood { get; set; }
    }
}
