using System.Net;
using System.Net.Http.Json;
using Loom.Tests.Api;

namespace Loom.Tests.Lore;

/// <summary>Lore timers are read from the stored turns, so a restart of the whole process keeps them.</summary>
public sealed class LoreRestartTests
{
    [Fact]
    public async Task Sticky_lore_carries_over_a_restart()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("loom-lore-restart-").FullName;
        string sessionId;
        await using (var first = LoomAppFactory.With(dataDirectory, null))
        {
            var client = first.Alice();
            await client.PutAsJsonAsync("/api/worlds/lore-restart", new
            {
                files = new Dictionary<string, string>
                {
                    ["world.md"] = "# World\nSaltmere is a harbour city of fog and salt, built on old stone.\n\n# Tone\nQuiet, tense, wet; small kindnesses matter a great deal.\n",
                    ["lore/storm.md"] = "---\nkeys: [storm]\nsticky: 2\n---\nA storm is coming in from the west.\n",
                },
            }).ExpectAsync(HttpStatusCode.Created);
            sessionId = await client.CreateSessionAsync("lore-restart");
            var fired = await client.PlayAsync(sessionId, "I watch the storm gather.");
            Assert.Equal("key", fired["lore"]![0]!["reason"]!.GetValue<string>());
        }

        await using var second = LoomAppFactory.With(dataDirectory, null);
        var after = await second.Alice().PlayAsync(sessionId, "I go inside.");
        Assert.Equal("sticky", after["lore"]!.AsArray().Single()!["reason"]!.GetValue<string>());
    }
}
