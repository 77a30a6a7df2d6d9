using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using Loom.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Clustering.Redis;
using Orleans.Configuration;
using Orleans.Runtime;
using StackExchange.Redis;

namespace Loom.Silo.Hosting;

/// <summary>
/// Puts the Redis membership table back when Redis loses its data while the cluster runs (restarted without
/// persistence, flushed, failed over to an empty replica). Orleans cannot recover from that by itself: reads of the
/// table fail, so no silo can join or be declared dead and no new client finds a gateway, and a silo that starts
/// meanwhile creates a fresh table whose versions would, once they pass the old ones, tell every running silo that it
/// is dead.
/// <para>
/// Every active silo keeps a copy of the table's rows (taken when the membership view changes, and every
/// <see cref="BackupEvery"/>) and checks every <see cref="LoomClusterOptions.MembershipCheckSeconds"/> that its own
/// row is there. When it is not, the silo writes back, in one atomic script, every row the table lacks, with the
/// status its own view gives each silo, and a table version above both what it had seen and what the table has now:
/// every silo then reads a newer table that still lists it, and a silo that joined meanwhile keeps its row. The rows
/// are written as Orleans stored them (status patched), so no knowledge of the row format beyond that is needed.
/// </para>
/// </summary>
internal sealed partial class MembershipTableRepair : ILifecycleParticipant<ISiloLifecycle>, IAsyncDisposable
{
    private static readonly TimeSpan BackupEvery = TimeSpan.FromSeconds(30);

    // Writes back what is missing only if this silo's row (ARGV[1]) is gone; ARGV[2] is the lowest version to leave.
    private const string RestoreScript = """
        if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return -1 end
        local current = tonumber(redis.call('HGET', KEYS[1], 'Version') or '-1')
        for i = 3, #ARGV, 2 do redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
        local version = math.max(current + 1, tonumber(ARGV[2]) + 1)
        redis.call('HSET', KEYS[1], 'Version', string.format('%d', version))
        return version
        """;

    private const string VersionField = "Version";

    private readonly RedisClusteringOptions _redis;
    private readonly RedisKey _tableKey;
    private readonly SiloAddress _self;
    private readonly IClusterMembershipService _membership;
    private readonly TimeSpan _checkEvery;
    private readonly ILogger<MembershipTableRepair> _logger;
    private readonly Counter<long> _repairs;
    private readonly CancellationTokenSource _stop = new();
    private (IConnectionMultiplexer Connection, bool Shared)? _connection;
    private Task _loop = Task.CompletedTask;
    private Backup? _backup;

    public MembershipTableRepair(
        IOptions<RedisClusteringOptions> redis, IOptions<ClusterOptions> cluster, LoomClusterOptions loom,
        ILocalSiloDetails silo, IClusterMembershipService membership, IMeterFactory meters, ILogger<MembershipTableRepair> logger)
    {
        _redis = redis.Value;
        _tableKey = _redis.CreateRedisKey(cluster.Value);
        _self = silo.SiloAddress;
        _membership = membership;
        _checkEvery = TimeSpan.FromSeconds(loom.MembershipCheckSeconds);
        _logger = logger;
        _repairs = meters.Create(LoomTelemetry.MeterName).CreateCounter<long>("loom_membership_repairs", null,
            "Times this silo found its row missing from the Redis membership table and wrote the table back.");
    }

    public void Participate(ISiloLifecycle lifecycle) =>
        // From Active (this silo's row says Active) until the silo starts to stop (it then changes its row itself).
        lifecycle.Subscribe(nameof(MembershipTableRepair), ServiceLifecycleStage.Active, OnStartAsync, OnStopAsync);

    private Task OnStartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task OnStopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_checkEvery);
        try
        {
            do
            {
                try
                {
                    await CheckAsync();
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
                {
                    // Redis down or restarting: Orleans logs its own warnings; the next tick tries again.
                    LogCheckFailed(ex.GetType().Name, ex.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task CheckAsync()
    {
        var snapshot = _membership.CurrentSnapshot;
        if (snapshot.GetSiloStatus(_self) != SiloStatus.Active) return; // joining, stopping or declared dead: not ours to fix
        var database = await DatabaseAsync();

        if (_backup is null || _backup.ViewVersion != snapshot.Version.Value || DateTime.UtcNow - _backup.TakenAt >= BackupEvery)
        {
            var rows = await database.HashGetAllAsync(_tableKey);
            if (rows.Any(r => r.Name == _self.ToString()))
            {
                _backup = Backup.From(rows, snapshot.Version.Value);
                return;
            }
        }
        else if (await database.HashExistsAsync(_tableKey, _self.ToString()))
        {
            return;
        }

        await RestoreAsync(database, snapshot);
    }

    private async Task RestoreAsync(IDatabase database, ClusterMembershipSnapshot snapshot)
    {
        if (_backup is null)
        {
            LogNoBackup(_self);
            return;
        }

        var statuses = snapshot.Members.Values.ToDictionary(m => m.SiloAddress.ToString(), m => m.Status);
        var arguments = new List<RedisValue> { _self.ToString(), Math.Max(_backup.TableVersion, snapshot.Version.Value) };
        foreach (var (field, row) in _backup.Rows)
        {
            arguments.Add(field);
            // A silo this one has seen die since the copy was taken must not come back as Active.
            arguments.Add(statuses.TryGetValue(field, out var status) && status == SiloStatus.Dead
                ? StatusPattern().Replace(row, $"\"Status\":{(int)SiloStatus.Dead}", 1)
                : row);
        }

        var result = (long)await database.ScriptEvaluateAsync(RestoreScript, [_tableKey], [.. arguments]);
        if (result < 0) return; // another silo wrote the table back a moment ago
        _repairs.Add(1);
        LogRestored(_self, _backup.Rows.Count, result);
    }

    private async Task<IDatabase> DatabaseAsync()
    {
        _connection ??= await _redis.CreateMultiplexer(_redis);
        return _connection.Value.Connection.GetDatabase();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_connection is { Shared: false } owned) await owned.Connection.DisposeAsync();
        _stop.Dispose();
    }

    /// <summary>The table's rows (field → stored JSON, the version field left out) as last read, and when.</summary>
    private sealed record Backup(IReadOnlyDictionary<string, string> Rows, long TableVersion, long ViewVersion, DateTime TakenAt)
    {
        public static Backup From(HashEntry[] rows, long viewVersion)
        {
            var version = rows.FirstOrDefault(r => r.Name == VersionField).Value;
            return new Backup(
                rows.Where(r => r.Name != VersionField && r.Value.HasValue).ToDictionary(r => r.Name.ToString(), r => r.Value.ToString()),
                long.TryParse(version.ToString(), out var parsed) ? parsed : 0,
                viewVersion,
                DateTime.UtcNow);
        }
    }

    [GeneratedRegex("\"Status\":\\d+")]
    private static partial Regex StatusPattern();

    [LoggerMessage(Level = LogLevel.Warning, Message = "The Redis membership table lost this silo's row ({Silo}): Redis restarted empty or was flushed. Wrote back {Rows} rows at table version {Version}")]
    private partial void LogRestored(SiloAddress silo, int rows, long version);

    [LoggerMessage(Level = LogLevel.Error, Message = "The Redis membership table lost this silo's row ({Silo}) and this silo holds no copy of it to write back")]
    private partial void LogNoBackup(SiloAddress silo);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Membership table check failed ({Error}: {Message}); trying again at the next tick")]
    private partial void LogCheckFailed(string error, string message);
}
