using System.Diagnostics;
using System.Text;
using Npgsql;

namespace Loom.Tests.Fixtures;

/// <summary>
/// A throw-away PostgreSQL server: initdb into a temp directory owned by user <c>postgres</c>, started with
/// <c>runuser -u postgres --</c> on a free loopback port (socket in the temp dir). No Docker needed.
/// Binaries come from PATH or /usr/lib/postgresql/*/bin. Disposing stops it and deletes the directory.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(30);
    private readonly StringBuilder _log = new();
    private string? _root;
    private Process? _process;

    public int Port { get; private set; }

    public string DataDirectory => Path.Combine(_root ?? throw NotStarted(), "data");

    /// <summary>Database created at start-up for tests that need just one.</summary>
    public string Database => "loom";

    /// <summary>Connection string for <see cref="Database"/> (superuser, trust auth, loopback).</summary>
    public string ConnectionString => ConnectionStringFor(Database);

    public string ConnectionStringFor(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = "postgres",
        Database = database,
        Pooling = true,
        Timeout = 10,
    }.ToString();

    /// <summary>
    /// When set, this server is a streaming standby of that one (a read replica): copied from it with pg_basebackup,
    /// replaying its WAL, read-only. Start the primary first.
    /// </summary>
    public PostgresServer? Primary { get; init; }

    public async Task InitializeAsync()
    {
        var bin = FindBinDirectory();
        _root = Directory.CreateTempSubdirectory("loom-pg-").FullName;
        try
        {
            await ChildProcesses.RunAsync("chown", ["-R", "postgres:postgres", _root], TimeSpan.FromSeconds(10));
            if (Primary is null)
            {
                await RunAsPostgresAsync(Path.Combine(bin, "initdb"),
                    ["-D", DataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"],
                    TimeSpan.FromSeconds(60));
            }
            else
            {
                // -R writes standby.signal and the primary's address: the copy starts as its hot standby.
                await RunAsPostgresAsync(Path.Combine(bin, "pg_basebackup"),
                    ["-h", "127.0.0.1", "-p", Primary.Port.ToString(), "-U", "postgres", "-D", DataDirectory, "-R", "-X", "stream",
                     "--checkpoint=fast", "--no-sync"],
                    TimeSpan.FromSeconds(60));
            }
            Port = FreePort.Next();
            await StartAsync(bin);
            if (Primary is null) await CreateDatabaseAsync(Database);
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates an empty database (isolation per test) and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string? name = null)
    {
        name ??= "t_" + Guid.NewGuid().ToString("N")[..12];
        await using var connection = new NpgsqlConnection(ConnectionStringFor("postgres"));
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"CREATE DATABASE \"{name}\"";
        await command.ExecuteNonQueryAsync();
        return ConnectionStringFor(name);
    }

    /// <summary>A standby: stops applying the primary's WAL (it keeps receiving it), so its rows fall behind.</summary>
    public Task PauseReplayAsync() => ExecuteAsync("SELECT pg_wal_replay_pause()");

    public Task ResumeReplayAsync() => ExecuteAsync("SELECT pg_wal_replay_resume()");

    /// <summary>A standby: waits until it has replayed everything its primary had written when this was called.</summary>
    public async Task WaitForReplayAsync(TimeSpan within)
    {
        await using var primary = new NpgsqlConnection(Primary!.ConnectionStringFor("postgres") + ";Pooling=false");
        await primary.OpenAsync();
        await using var position = new NpgsqlCommand("SELECT pg_current_wal_lsn()::text", primary);
        var target = (string)(await position.ExecuteScalarAsync())!;
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            await using var standby = new NpgsqlConnection(ConnectionStringFor("postgres") + ";Pooling=false");
            await standby.OpenAsync();
            await using var check = new NpgsqlCommand("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", standby) { Parameters = { new() { Value = target } } };
            if ((bool)(await check.ExecuteScalarAsync())!) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"The standby did not replay up to {target} within {within}.");
            await Task.Delay(50);
        }
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionStringFor("postgres") + ";Pooling=false");
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Fast shutdown and start again on the same port and data directory.</summary>
    public async Task RestartAsync()
    {
        await StopServerAsync();
        await StartServerAsync();
    }

    /// <summary>Fast shutdown; the server stays down (an outage) until <see cref="StartServerAsync"/>.</summary>
    public async Task StopServerAsync()
    {
        await StopAsync();
        NpgsqlConnection.ClearAllPools();
    }

    /// <summary>Starts the stopped server again on the same port and data directory; returns once it accepts connections.</summary>
    public Task StartServerAsync() => StartAsync(FindBinDirectory());

    public async Task DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            if (_root is not null && Directory.Exists(_root))
            {
                Directory.Delete(_root, recursive: true);
            }
            _root = null;
        }
    }

    public string Log()
    {
        lock (_log)
        {
            return _log.ToString();
        }
    }

    private async Task StartAsync(string bin)
    {
        var info = new ProcessStartInfo("runuser");
        foreach (var argument in (string[])["-u", "postgres", "--", Path.Combine(bin, "postgres"),
                     "-D", DataDirectory, "-p", Port.ToString(), "-k", _root!,
                     "-c", "listen_addresses=127.0.0.1",
                     // Test data is disposable: skip fsync for speed.
                     "-c", "fsync=off", "-c", "full_page_writes=off"])
        {
            info.ArgumentList.Add(argument);
        }
        _process = ChildProcesses.Start(info, line => { lock (_log) { _log.AppendLine(line); } });

        var deadline = DateTime.UtcNow + StartDeadline;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            if (ChildProcesses.HasExited(_process))
            {
                throw new InvalidOperationException($"postgres exited during start-up.\n{Log()}");
            }
            try
            {
                await using var connection = new NpgsqlConnection(ConnectionStringFor("postgres") + ";Pooling=false");
                await connection.OpenAsync();
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
            {
                last = ex;
                await Task.Delay(100);
            }
        }
        throw new TimeoutException($"postgres did not accept connections within {StartDeadline}: {last?.Message}\n{Log()}");
    }

    private async Task StopAsync()
    {
        if (_process is null)
        {
            return;
        }
        var process = _process;
        _process = null;
        try
        {
            if (!ChildProcesses.HasExited(process) && _root is not null)
            {
                await RunAsPostgresAsync(Path.Combine(FindBinDirectory(), "pg_ctl"),
                    ["-D", DataDirectory, "stop", "-m", "fast", "-w", "-t", "20"], TimeSpan.FromSeconds(30));
            }
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(cts.Token);
        }
        catch (Exception)
        {
            // pg_ctl failed or the server hangs: never leave it running.
            ChildProcesses.Kill(process);
        }
        finally
        {
            process.Dispose();
        }
    }

    private static Task<string> RunAsPostgresAsync(string file, string[] arguments, TimeSpan timeout) =>
        ChildProcesses.RunAsync("runuser", ["-u", "postgres", "--", file, .. arguments], timeout);

    internal static string FindBinDirectory()
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            if (File.Exists(Path.Combine(directory, "postgres")) && File.Exists(Path.Combine(directory, "initdb")) &&
                File.Exists(Path.Combine(directory, "pg_ctl")))
            {
                // PATH may hold links to a few of the binaries only: the others (pg_basebackup) sit beside the real ones.
                var postgres = new FileInfo(Path.Combine(directory, "postgres"));
                return Path.GetDirectoryName(postgres.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? postgres.FullName)!;
            }
        }
        var installed = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "postgres")))
                .OrderByDescending(d => d, StringComparer.Ordinal)
                .FirstOrDefault()
            : null;
        return installed ?? throw new InvalidOperationException(
            "PostgreSQL binaries not found on PATH or in /usr/lib/postgresql/*/bin (apt-get install postgresql).");
    }

    private static InvalidOperationException NotStarted() => new("The PostgreSQL server has not been started.");
}

/// <summary>One PostgreSQL server shared by the test classes in collection "postgres".</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}
