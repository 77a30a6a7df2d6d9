using System.Net;
using System.Text.Json.Nodes;
using Loom.Tests.Api;
using Loom.Tests.Security;

namespace Loom.Tests.Cli;

/// <summary>The gateway on Kestrel for the tool, which talks to it over a real socket like any user's terminal.</summary>
public sealed class CliApp() : KestrelLoomApp();

/// <summary>
/// The <c>loom</c> tool run as a process against a real gateway: an author's and a player's whole path, scripted play
/// with slash commands, exit codes and the server's problem text, the profile, key management and help.
/// </summary>
public sealed class CliTests(CliApp app) : IClassFixture<CliApp>
{
    private const string Canon = """
        # World
        Saltmere is a harbour town where the fog hides smugglers and the tide keeps its own calendar.

        # Tone
        Quiet, wry and a little eerie; consequences are real and the sea is never kind.
        """;

    private LoomTool Alice => new(app.BaseAddress, LoomAppFactory.AliceKey);

    [Fact]
    public async Task An_author_publishes_a_folder_and_a_player_plays_exports_and_imports_through_the_tool()
    {
        var tool = Alice;
        var worldId = "cli-" + Guid.NewGuid().ToString("N")[..8];
        var folder = CanonFolder(Canon);

        var validated = await tool.RunAsync("worlds", "validate", folder);
        Assert.True(validated.ExitCode == 0, validated.ToString());
        Assert.Contains("Valid: 2 sections", validated.Stdout);

        var published = await tool.RunAsync("worlds", "publish", folder, "--id", worldId);
        Assert.True(published.ExitCode == 0, published.ToString());
        Assert.Contains($"Published {worldId} version 1", published.Stdout);

        var worlds = JsonNode.Parse((await tool.RunAsync("worlds", "list", "--json")).Stdout)!;
        Assert.Contains(worlds["items"]!.AsArray(), w => w!["worldId"].Str() == worldId);
        Assert.Contains("lore/lighthouse.md", await LoreFileAsync(worldId)); // the folder's lore/ entries were published too
        var shown = await tool.RunAsync("worlds", "show", worldId);
        Assert.Contains($"World:      {worldId}", shown.Stdout);
        Assert.Equal(1, JsonNode.Parse((await tool.RunAsync("worlds", "show", worldId, "--json")).Stdout)!["latestVersion"]!.GetValue<int>());

        var created = await tool.RunAsync("sessions", "new", worldId, "--name", "Fog run", "--json");
        Assert.True(created.ExitCode == 0, created.ToString());
        var sessionId = JsonNode.Parse(created.Stdout)!["sessionId"].Str();

        var played = await tool.RunAsync("play", sessionId, "--input", "I walk to the lighthouse. (OOC: is it night?)");
        Assert.True(played.ExitCode == 0, played.ToString());
        var turn = (await app.Client().TurnsAsync(sessionId)).Single();
        Assert.Equal("completed", turn["status"].Str());
        // Streamed narration printed whole, the marker recorded on the turn, and the OOC reply apart from the story.
        Assert.Contains(turn["narrative"].Str().Trim(), played.Stdout);
        Assert.Contains("[ooc] is it night?", played.Stdout);
        Assert.Contains($"(OOC) {turn["oocReply"].Str()}", played.Stdout);

        var session = JsonNode.Parse((await tool.RunAsync("sessions", "show", sessionId, "--json")).Stdout)!;
        Assert.Equal(1, session["turnCount"]!.GetValue<int>());
        Assert.Equal("Fog run", session["name"].Str());

        var export = Path.Combine(tool.ConfigHome, "fog.json");
        var exported = await tool.RunAsync("sessions", "export", sessionId, "-o", export);
        Assert.True(exported.ExitCode == 0, exported.ToString());
        Assert.Equal("loom.session.v1", JsonNode.Parse(await File.ReadAllTextAsync(export))!["format"].Str());
        var markdown = await tool.RunAsync("sessions", "export", sessionId, "--format", "markdown");
        Assert.Contains("I walk to the lighthouse.", markdown.Stdout);

        var imported = JsonNode.Parse((await tool.RunAsync("sessions", "import", export, "--json")).Stdout)!;
        Assert.NotEqual(sessionId, imported["sessionId"].Str());
        Assert.Equal(1, imported["turnCount"]!.GetValue<int>());

        var renamed = await tool.RunAsync("sessions", "rename", sessionId, "Fog run, again");
        Assert.Contains("Fog run, again", renamed.Stdout);
        var archived = await tool.RunAsync("sessions", "archive", imported["sessionId"].Str());
        Assert.True(archived.ExitCode == 0, archived.ToString());
        var archivedList = JsonNode.Parse((await tool.RunAsync("sessions", "list", "--status", "archived", "--json")).Stdout)!;
        Assert.Contains(archivedList["items"]!.AsArray(), s => s!["sessionId"].Str() == imported["sessionId"].Str());

        var usage = JsonNode.Parse((await tool.RunAsync("usage", "--json")).Stdout)!;
        Assert.Equal("alice", usage["ownerId"].Str());
        Assert.True(usage["total"]!["completionTokens"]!.GetValue<long>() > 0);
        Assert.Contains("All time:", (await tool.RunAsync("usage")).Stdout);
    }

    [Fact]
    public async Task Play_reads_standard_input_and_runs_rollback_fork_cost_and_context()
    {
        var tool = Alice;
        var sessionId = await app.Client().CreateSessionAsync();
        var script = "I follow the river towards the mill.\nI cross the bridge.\n/rollback 1 too hasty\n/fork 1 side story\n/cost\n/context\n";

        var run = await tool.RunAsync(["play", sessionId], script);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("> I cross the bridge.", run.Stdout);
        Assert.Contains("Rolled back to turn 1", run.Stdout);
        Assert.Contains("Session: ", run.Stdout);
        Assert.Contains("prompt tokens", run.Stdout); // /context's token line
        var live = await app.Client().TurnsAsync(sessionId);
        Assert.Equal(["I follow the river towards the mill."], live.Select(t => t["input"].Str()));
        var fork = System.Text.RegularExpressions.Regex.Match(run.Stdout, "into (s[a-z0-9]+)").Groups[1].Value;
        var forked = await app.Client().GetAsync($"/api/sessions/{fork}").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("side story", forked["name"].Str());
    }

    [Fact]
    public async Task Play_regenerates_and_continues_the_latest_turn()
    {
        var sessionId = await app.Client().CreateSessionAsync();
        var run = await Alice.RunAsync(["play", sessionId], "I look around the harbour.\n/regen\n/continue\n");

        Assert.True(run.ExitCode == 0, run.ToString());
        var turn = Assert.Single(await app.Client().TurnsAsync(sessionId));
        Assert.Equal(2, turn["alternatives"]!["count"]!.GetValue<int>()); // /regen made the second alternative
        Assert.Equal(2, turn["alternatives"]!["chosen"]!.GetValue<int>());
        Assert.Equal("completed", turn["status"].Str());
    }

    [Fact]
    public async Task Play_with_json_prints_each_finished_turn_as_one_line()
    {
        var sessionId = await app.Client().CreateSessionAsync();
        var run = await Alice.RunAsync("play", sessionId, "--json", "--input", "I look around.", "--input", "I listen.");
        Assert.True(run.ExitCode == 0, run.ToString());
        var turns = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal([1, 2], turns.Select(t => t["seq"]!.GetValue<int>()));
        Assert.All(turns, t => Assert.Equal("completed", t["status"].Str()));
    }

    [Fact]
    public async Task Failures_exit_with_their_own_code_and_print_the_servers_problem()
    {
        var wrongKey = await new LoomTool(app.BaseAddress, "not-a-key").RunAsync("worlds", "list");
        Assert.Equal(3, wrongKey.ExitCode);
        Assert.Contains("401 Unauthorized", wrongKey.Stderr);
        Assert.Contains("not valid", wrongKey.Stderr);

        var notAdmin = await Alice.RunAsync("keys", "list");
        Assert.Equal(3, notAdmin.ExitCode);
        Assert.Contains("admin", notAdmin.Stderr);

        var missing = await Alice.RunAsync("sessions", "show", "no-such-session");
        Assert.Equal(4, missing.ExitCode);
        Assert.Contains("No session 'no-such-session'", missing.Stderr);

        var invalid = await Alice.RunAsync("worlds", "publish", CanonFolder("# World\nOnly a world, no tone.\n"), "--id", "cli-invalid");
        Assert.Equal(1, invalid.ExitCode);
        Assert.Contains("422", invalid.Stderr);
        var notValid = await Alice.RunAsync("worlds", "validate", CanonFolder("# World\nOnly a world, no tone.\n"));
        Assert.Equal(1, notValid.ExitCode);
        Assert.Contains("Invalid", notValid.Stdout);

        var usage = await Alice.RunAsync("sessions", "frobnicate");
        Assert.Equal(2, usage.ExitCode);
        var unsure = await Alice.RunAsync("sessions", "rm", "whatever");
        Assert.Equal(2, unsure.ExitCode);
        Assert.Contains("--yes", unsure.Stderr);

        var unreachable = await Alice.RunAsync("usage", "--url", "http://127.0.0.1:1");
        Assert.Equal(6, unreachable.ExitCode);
        Assert.Contains("Cannot reach", unreachable.Stderr);
    }

    [Fact]
    public async Task Login_saves_a_private_profile_that_later_commands_use()
    {
        var tool = new LoomTool(new Uri("http://127.0.0.1:1"), apiKey: null); // environment points nowhere; flags and profile decide
        var login = await tool.RunAsync("login", "--url", app.BaseAddress.ToString(), "--key", LoomAppFactory.BobKey);
        Assert.True(login.ExitCode == 0, login.ToString());
        var profile = Path.Combine(tool.ConfigHome, "loom", "profile.json");
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(profile)); // it holds a key

        var fromProfile = await tool.RunAsync(["usage", "--json"], null, new Dictionary<string, string?> { ["LOOM_URL"] = null });
        Assert.True(fromProfile.ExitCode == 0, fromProfile.ToString());
        Assert.Equal("bob", JsonNode.Parse(fromProfile.Stdout)!["ownerId"].Str());

        var badLogin = await tool.RunAsync("login", "--url", app.BaseAddress.ToString(), "--key", "wrong");
        Assert.Equal(3, badLogin.ExitCode);
        Assert.Contains(LoomAppFactory.BobKey, await File.ReadAllTextAsync(profile)); // a failed login keeps the old profile

        Assert.Equal(0, (await tool.RunAsync("logout")).ExitCode);
        Assert.False(File.Exists(profile));
    }

    [Fact]
    public async Task Login_reads_the_key_from_standard_input_to_keep_it_out_of_history_and_the_process_list()
    {
        var tool = new LoomTool(new Uri("http://127.0.0.1:1"), apiKey: null);
        var url = app.BaseAddress.ToString();

        var login = await tool.RunAsync(["login", "--url", url, "--key-stdin"], LoomAppFactory.BobKey + "\n");
        Assert.True(login.ExitCode == 0, login.ToString());
        Assert.Contains("as bob", login.Stdout);
        Assert.Contains(LoomAppFactory.BobKey, await File.ReadAllTextAsync(Path.Combine(tool.ConfigHome, "loom", "profile.json")));

        // A key file that starts with a UTF-8 byte-order mark (as a Windows editor saves it).
        var marked = await tool.RunAsync(["login", "--url", url, "--key-stdin"], "\uFEFF" + LoomAppFactory.BobKey + "\r\n");
        Assert.True(marked.ExitCode == 0, marked.ToString());

        var wrong = await tool.RunAsync(["login", "--url", url, "--key-stdin"], "wrong\n");
        Assert.Equal(3, wrong.ExitCode);
        var empty = await tool.RunAsync(["login", "--url", url, "--key-stdin"], "");
        Assert.True(empty.ExitCode == 2 && empty.Stderr.Contains("standard input holds no key"), empty.ToString());
        var both = await tool.RunAsync(["login", "--url", url, "--key", "a", "--key-stdin"], "b\n");
        Assert.True(both.ExitCode == 2 && both.Stderr.Contains("--key or --key-stdin, not both"), both.ToString());
    }

    [Fact]
    public async Task An_admin_creates_uses_and_revokes_a_key()
    {
        var admin = new LoomTool(app.BaseAddress, LoomAppFactory.AdminKey);
        var owner = "cli-" + Guid.NewGuid().ToString("N")[..8];
        var created = JsonNode.Parse((await admin.RunAsync("keys", "create", owner, "--role", "player", "--name", "laptop", "--json")).Stdout)!;
        var keyId = created["keyId"].Str();

        var listed = JsonNode.Parse((await admin.RunAsync("keys", "list", "--owner", owner, "--json")).Stdout)!;
        Assert.Equal([keyId], listed["items"]!.AsArray().Select(k => k!["keyId"].Str()));
        var asOwner = await new LoomTool(app.BaseAddress, created["key"].Str()).RunAsync("usage", "--json");
        Assert.Equal(owner, JsonNode.Parse(asOwner.Stdout)!["ownerId"].Str());

        Assert.Equal(0, (await admin.RunAsync("keys", "revoke", keyId)).ExitCode);
        var shown = JsonNode.Parse((await admin.RunAsync("keys", "show", keyId, "--json")).Stdout)!;
        Assert.NotNull(shown["revokedAt"]?.GetValue<DateTimeOffset>());
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("worlds", "publish", "--help")]
    [InlineData("sessions", "new", "--help")]
    [InlineData("play", "--help")]
    [InlineData("keys", "create", "--help")]
    public async Task Every_command_has_help(params string[] args)
    {
        var run = await Alice.RunAsync(args);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("Usage:", run.Stdout);
        Assert.Contains("--json", run.Stdout);
    }

    private static string CanonFolder(string canon)
    {
        var folder = Directory.CreateTempSubdirectory("loom-cli-canon-").FullName;
        File.WriteAllText(Path.Combine(folder, "canon.md"), canon);
        Directory.CreateDirectory(Path.Combine(folder, "lore"));
        File.WriteAllText(Path.Combine(folder, "lore", "lighthouse.md"), "---\nkeys: [lighthouse]\n---\nThe lighthouse has been dark for ten years.\n");
        return folder;
    }

    private async Task<string> LoreFileAsync(string worldId) =>
        (await app.Client().GetAsync($"/api/worlds/{worldId}/canon").ExpectAsync(HttpStatusCode.OK))["files"]!.ToJsonString();
}
