using System.Diagnostics;
using System.Text.RegularExpressions;
using Loom.Tests.Fixtures;
using Npgsql;
using YamlDotNet.RepresentationModel;

namespace Loom.Tests.Helm;

/// <summary>
/// devPostgres.password is the chart's own value, written to the Secret the silos and PostgreSQL read. A changed value
/// rolls both (a fingerprint among their pod annotations), and PostgreSQL's init container gives it to the role on an
/// existing volume: the image sets POSTGRES_PASSWORD only when it creates the database, so the rolled silos could no
/// longer log in. The init container's script is run here against a real PostgreSQL data directory.
/// </summary>
public sealed partial class DevPostgresPasswordTests : IDisposable
{
    private const string Annotation = "checksum/dev-postgres-password: {{ include \"loom.devPostgresPasswordChecksum\" . | quote }}";

    private readonly string _root = Directory.CreateTempSubdirectory("loom-devpg-").FullName;

    [Fact]
    public void A_changed_password_rolls_the_silos_and_postgres()
    {
        var silo = File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, "silo-deployment.yaml"));
        Assert.Matches(@"\{\{- if \.Values\.devPostgres\.enabled \}\}\n\s+#[^\n]*\n\s+" + Regex.Escape(Annotation), silo);
        var postgres = File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, "dev-postgres.yaml"));
        var podMetadata = (YamlMappingNode)StatefulSet()["spec"]["template"]["metadata"];
        Assert.True(((YamlMappingNode)podMetadata["annotations"]).Children.ContainsKey("checksum/dev-postgres-password"));
        Assert.Contains(Annotation, postgres, StringComparison.Ordinal);

        // Derived from the password with scrypt, salted: never a plain hash of it, which annotations would give away.
        var helpers = File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, "_helpers.tpl"));
        Assert.Contains("{{- derivePassword 1 \"long\" .Values.devPostgres.password .Values.devPostgres.username (include \"loom.fullname\" .) -}}",
            helpers, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"devPostgres\.password[^\n]*sha256sum", string.Join('\n', ChartFiles.AllTemplateSources().Select(File.ReadAllText)));
    }

    [Fact]
    public void The_init_container_reads_the_charts_secret_and_the_servers_data_directory()
    {
        var spec = (YamlMappingNode)StatefulSet()["spec"]["template"]["spec"];
        var init = (YamlMappingNode)Assert.Single(((YamlSequenceNode)spec["initContainers"]).Children);
        var server = (YamlMappingNode)Assert.Single(((YamlSequenceNode)spec["containers"]).Children);
        Assert.Equal("password", init["name"].ToString());
        Assert.Equal(Env(server, "PGDATA"), Env(init, "PGDATA"));
        Assert.Equal("/var/lib/postgresql/data/pgdata", Env(init, "PGDATA"));
        Assert.Equal(Mount(server, "data"), Mount(init, "data"));
        var password = (YamlMappingNode)Variable(init, "POSTGRES_PASSWORD")["valueFrom"]["secretKeyRef"];
        Assert.Equal("password", password["key"].ToString());
        Assert.Equal(((YamlMappingNode)Variable(server, "POSTGRES_PASSWORD")["valueFrom"]["secretKeyRef"])["name"].ToString(), password["name"].ToString());
    }

    [Fact]
    public async Task The_script_gives_an_existing_database_the_new_password_and_never_prints_it()
    {
        var bin = PostgresServer.FindBinDirectory();
        await ChildProcesses.RunAsync("chown", ["postgres:postgres", _root], TimeSpan.FromSeconds(10));
        var data = Path.Combine(_root, "pgdata");
        var passwordFile = Path.Combine(_root, "initial");
        await File.WriteAllTextAsync(passwordFile, "initial-password\n");
        await ChildProcesses.RunAsync("chown", ["postgres:postgres", passwordFile], TimeSpan.FromSeconds(10));
        await ChildProcesses.RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(bin, "initdb"), "-D", data, "-U", "loom",
            $"--pwfile={passwordFile}", "-A", "scram-sha-256", "--no-sync"], TimeSpan.FromSeconds(60));

        const string changed = "it's a \"new\" one \\ with spaces";
        await RunScriptAsync(bin, data, "loom", changed);

        // A role that is not there (devPostgres.username changed after the database was made) fails the start, quietly.
        var missing = await Assert.ThrowsAsync<InvalidOperationException>(() => RunScriptAsync(bin, data, "someone-else", "never-printed"));
        var printed = missing.Message[missing.Message.IndexOf('\n', StringComparison.Ordinal)..]; // after the command line
        Assert.Contains("role \"someone-else\" does not exist", printed);
        Assert.DoesNotContain("never-printed", printed);

        var port = FreePort.Next();
        var info = new ProcessStartInfo("runuser");
        foreach (var a in (string[])["-u", "postgres", "--", Path.Combine(bin, "postgres"), "-D", data, "-p", port.ToString(), "-k", _root,
                     "-c", "listen_addresses=127.0.0.1"]) info.ArgumentList.Add(a);
        using var server = ChildProcesses.Start(info);
        try
        {
            Assert.Equal(1, await QueryAsync(port, changed, TimeSpan.FromSeconds(30)));
            var old = await Assert.ThrowsAsync<PostgresException>(() => QueryAsync(port, "initial-password", TimeSpan.Zero));
            Assert.Equal(PostgresErrorCodes.InvalidPassword, old.SqlState);
        }
        finally
        {
            try
            {
                await ChildProcesses.RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(bin, "pg_ctl"), "-D", data, "stop", "-m", "fast", "-w"],
                    TimeSpan.FromSeconds(30));
            }
            catch (Exception)
            {
                ChildProcesses.Kill(server); // never left running
            }
        }
    }

    /// <summary>The init container's script as the chart has it, its log file moved from the container's /tmp to ours.</summary>
    private Task<string> RunScriptAsync(string bin, string data, string user, string password)
    {
        var script = InitScript().Match(File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, "dev-postgres.yaml")));
        Assert.True(script.Success, "the init container's script (sh -c |) not found");
        var text = string.Concat(script.Groups[1].Value.Split('\n').Select(l => (l.Length >= 14 ? l[14..] : l.TrimStart()) + "\n"))
            .Replace("/tmp/password.log", Path.Combine(_root, "password.log"), StringComparison.Ordinal);
        return ChildProcesses.RunAsync("runuser", ["-u", "postgres", "--", "env", $"PATH={bin}:/usr/bin:/bin", $"PGDATA={data}",
            $"POSTGRES_USER={user}", $"POSTGRES_PASSWORD={password}", "sh", "-c", text], TimeSpan.FromSeconds(60));
    }

    private static async Task<int> QueryAsync(int port, string password, TimeSpan wait)
    {
        var connectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1", Port = port, Username = "loom", Password = password, Database = "postgres", Pooling = false, Timeout = 5,
        }.ToString();
        var until = DateTime.UtcNow + wait;
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync();
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                return (int)(await command.ExecuteScalarAsync())!;
            }
            catch (NpgsqlException ex) when (ex is not PostgresException { SqlState: not PostgresErrorCodes.CannotConnectNow } && DateTime.UtcNow < until)
            {
                await Task.Delay(200); // not listening yet, or still starting
            }
        }
    }

    private static YamlMappingNode StatefulSet()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(ChartFiles.Destructure(File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, "dev-postgres.yaml")))));
        return stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>()
            .Single(n => n.Children.TryGetValue("kind", out var kind) && kind.ToString() == "StatefulSet");
    }

    private static YamlMappingNode Variable(YamlMappingNode container, string name) =>
        ((YamlSequenceNode)container["env"]).Children.Cast<YamlMappingNode>().Single(e => e["name"].ToString() == name);

    private static string Env(YamlMappingNode container, string name) => Variable(container, name)["value"].ToString();

    private static string Mount(YamlMappingNode container, string volume) =>
        ((YamlSequenceNode)container["volumeMounts"]).Children.Cast<YamlMappingNode>().Single(m => m["name"].ToString() == volume)["mountPath"].ToString();

    [GeneratedRegex(@"            - \|\n((?:              [^\n]*\n)+)")]
    private static partial Regex InitScript();

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
