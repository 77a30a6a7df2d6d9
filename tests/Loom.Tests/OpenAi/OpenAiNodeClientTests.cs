using System.Diagnostics;
using System.Text.Json.Nodes;
using Loom.Tests.Api;

namespace Loom.Tests.OpenAi;

/// <summary>
/// LOOM behind the official <c>openai</c> npm package (the Node SDK; the Python one needs PyPI, which this machine cannot
/// reach): models, a non-streaming turn, the whole conversation resent and streamed with usage, a regenerate, an error.
/// </summary>
public sealed class OpenAiNodeClientTests(OpenAiApp app) : IClassFixture<OpenAiApp>
{
    /// <summary>Pinned: the SDK is the thing under test's counterpart, so its version must not drift between runs.</summary>
    private const string OpenAiPackage = "openai@5.23.2";

    [Fact]
    public async Task The_official_node_client_plays_streams_resends_and_regenerates()
    {
        var work = Directory.CreateTempSubdirectory("loom-openai-node-").FullName;
        File.Copy(Path.Combine(AppContext.BaseDirectory, "OpenAi", "openai-node-client.mjs"), Path.Combine(work, "client.mjs"));
        await File.WriteAllTextAsync(Path.Combine(work, "package.json"), """{ "name": "loom-openai-check", "private": true, "type": "module" }""");
        await RunAsync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", OpenAiPackage], work);

        var name = "node-" + Guid.NewGuid().ToString("N")[..8];
        var output = await RunAsync("node", ["client.mjs", app.BaseAddress.ToString(), LoomAppFactory.AliceKey, name], work);
        var result = JsonNode.Parse(output.Trim().Split('\n')[^1])!;

        Assert.Contains(result["models"]!.AsArray(), m => m!.GetValue<string>() == "loom/ember-vale");
        Assert.Equal("stop", result["first"]!["finish"]!.GetValue<string>());
        Assert.True(result["first"]!["usage"]!["total_tokens"]!.GetValue<long>() > 0);
        Assert.Equal("stop", result["second"]!["finish"]!.GetValue<string>());
        Assert.True(result["second"]!["usage"]!["completion_tokens"]!.GetValue<long>() > 0);
        Assert.Equal(404, result["error"]!["status"]!.GetValue<int>());
        Assert.Equal("model_not_found", result["error"]!["code"]!.GetValue<string>());

        // Three requests carried the first message; the story holds it once, and the regenerate made turn 2 a second alternative.
        var id = Conversations.ConversationIds.SessionId("alice", name);
        var live = await app.Client().TurnsAsync(id);
        Assert.Equal(["I follow the river towards the mill.", "I cross the bridge."], live.Select(t => t["input"]!.GetValue<string>()));
        Assert.Equal(result["first"]!["text"]!.GetValue<string>(), live[0]["narrative"]!.GetValue<string>());
        Assert.Equal(result["regenerated"]!.GetValue<string>(), live[1]["narrative"]!.GetValue<string>());
        // The replaced reply stays beside the new one as the turn's first alternative.
        Assert.Equal(result["second"]!["text"]!.GetValue<string>(), live[1]["alternatives"]!["items"]![0]!["narrative"]!.GetValue<string>());
        Assert.Equal(2, (await app.Client().TurnsAsync(id, includeRetconned: true)).Count);
    }

    private static async Task<string> RunAsync(string file, string[] args, string directory)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)} exited {process.ExitCode}: {await stderr}");
        return await stdout;
    }
}
