using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Loom.Tests.Api;

namespace Loom.Tests.Lore;

/// <summary>
/// POST /api/worlds/import and GET /api/worlds/{id}/export over HTTP: every format in, every format out, equal to
/// what went in; lore settings mapped; hostile files refused with problem+json and nothing stored.
/// </summary>
public sealed class CardImportApiTests(LoomAppFactory app) : IClassFixture<LoomAppFactory>
{
    private static HttpContent Body(byte[] data, string type)
    {
        var content = new ByteArrayContent(data);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        return content;
    }

    private static async Task<JsonNode> ImportAsync(HttpClient client, byte[] data, string type = "application/json", string query = "") =>
        await client.PostAsync($"/api/worlds/import{query}", Body(data, type)).ExpectAsync(HttpStatusCode.Created);

    private static async Task<byte[]> ExportAsync(HttpClient client, string worldId, string format)
    {
        var response = await client.GetAsync($"/api/worlds/{worldId}/export?format={format}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsByteArrayAsync();
    }

    private static JsonNode Json(byte[] bytes) => JsonNode.Parse(Encoding.UTF8.GetString(bytes))!;

    private static void AssertSame(JsonNode expected, JsonNode actual) =>
        Assert.True(JsonNode.DeepEquals(expected, actual), $"expected\n{expected.ToJsonString()}\nactual\n{actual.ToJsonString()}");

    [Fact]
    public async Task V2_json_card_imports_as_canon_lore_and_greetings_and_exports_back_equal()
    {
        var client = app.Alice();
        var card = CardSamples.V2Card();
        var result = await ImportAsync(client, CardSamples.Bytes(card));
        Assert.Equal("card", result["kind"]!.GetValue<string>());
        Assert.Equal((2, 3, 1), (result["loreEntries"]!.GetValue<int>(), result["greetings"]!.GetValue<int>(), result["version"]!.GetValue<int>()));
        var worldId = result["worldId"]!.GetValue<string>();
        Assert.StartsWith("mira-vell-", worldId);

        var canon = await client.GetAsync($"/api/worlds/{worldId}/canon").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("Mira Vell", canon["title"]!.GetValue<string>());
        Assert.Equal(["World", "Tone", "Scenario", "Example dialogue"], canon["sections"]!.AsArray().Select(s => s!["name"]!.GetValue<string>()));
        var files = canon["files"]!.AsObject();
        Assert.Contains("Mira is the harbour girl of Saltmere", files["world.md"]!.GetValue<string>());
        Assert.Equal("*Mira looks up from the nets.* Late ferry again?", files["card/greeting-0.md"]!.GetValue<string>());
        var key = files["lore/000-silver-key.md"]!.GetValue<string>();
        Assert.Contains("position: at_depth", key);
        Assert.Contains("logic: and_all", key);
        Assert.Contains("sticky: 2", key);
        Assert.Contains("preventRecursion: true", key);
        Assert.Contains("wholeWords: true", key);
        Assert.Contains("position: before_canon", files["lore/001-guild.md"]!.GetValue<string>());
        Assert.Equal("3", canon["metadata"]!["lorescandepth"]!.GetValue<string>());

        AssertSame(card, Json(await ExportAsync(client, worldId, "card-v2")));
        var v3 = Json(await ExportAsync(client, worldId, "card-v3"));
        Assert.Equal("chara_card_v3", v3["spec"]!.GetValue<string>());
        AssertSame(card["data"]!, v3["data"]!);
    }

    [Fact]
    public async Task V3_json_card_round_trips()
    {
        var client = app.Alice();
        var card = CardSamples.V3Card();
        var worldId = (await ImportAsync(client, CardSamples.Bytes(card)))["worldId"]!.GetValue<string>();
        AssertSame(card, Json(await ExportAsync(client, worldId, "card-v3")));
    }

    [Fact]
    public async Task Png_card_prefers_ccv3_and_exports_a_png_with_both_chunks()
    {
        var client = app.Alice();
        var v2 = CardSamples.V2Card();
        var v3 = CardSamples.V3Card();
        ((JsonObject)v3["data"]!)["name"] = "Mira of the V3 chunk";
        var png = CardSamples.Png(("chara", v2.ToJsonString()), ("ccv3", v3.ToJsonString()));
        var result = await ImportAsync(client, png, "image/png");
        Assert.Equal("Mira of the V3 chunk", result["title"]!.GetValue<string>());
        var worldId = result["worldId"]!.GetValue<string>();

        var exported = await ExportAsync(client, worldId, "png");
        Assert.Equal([0x89, 0x50, 0x4E, 0x47], exported.Take(4));
        var chunks = CardSamples.TextChunks(exported);
        AssertSame(v3, JsonNode.Parse(chunks["ccv3"])!);
        Assert.Equal("chara_card_v2", JsonNode.Parse(chunks["chara"])!["spec"]!.GetValue<string>());
        // The image came along: importing the exported PNG again gives the same card.
        var again = (await ImportAsync(client, exported, "image/png"))["worldId"]!.GetValue<string>();
        AssertSame(v3, Json(await ExportAsync(client, again, "card-v3")));
    }

    [Fact]
    public async Task Png_with_only_a_chara_chunk_round_trips_as_v2()
    {
        var client = app.Alice();
        var v2 = CardSamples.V2Card();
        var worldId = (await ImportAsync(client, CardSamples.Png(("chara", v2.ToJsonString())), "image/png"))["worldId"]!.GetValue<string>();
        AssertSame(v2, JsonNode.Parse(CardSamples.TextChunks(await ExportAsync(client, worldId, "png"))["chara"])!);
    }

    [Fact]
    public async Task Charx_card_imports_through_a_form_upload()
    {
        var client = app.Alice();
        var card = CardSamples.V3Card();
        using var form = new MultipartFormDataContent { { Body(CardSamples.Charx(card, ("assets/icon/images/main.png", CardSamples.Png())), "application/zip"), "file", "mira.charx" } };
        var result = await client.PostAsync("/api/worlds/import", form).ExpectAsync(HttpStatusCode.Created);
        AssertSame(card, Json(await ExportAsync(client, result["worldId"]!.GetValue<string>(), "card-v3")));
    }

    [Fact]
    public async Task A_charx_image_whose_chunks_do_not_add_up_exports_as_a_png_with_a_placeholder_image()
    {
        var client = app.Alice();
        var card = CardSamples.V3Card();
        // A chunk length of 0xFFFFFFF4: twelve bytes more wraps to zero, so a walk that trusts it never moves on.
        byte[] hostile = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, 0xFF, 0xFF, 0xFF, 0xF4, (byte)'I', (byte)'D', (byte)'A', (byte)'T', 0, 0, 0, 0];
        var worldId = (await ImportAsync(client, CardSamples.Charx(card, ("assets/icon/images/main.png", hostile)), "application/zip"))["worldId"]!.GetValue<string>();
        var png = await ExportAsync(client, worldId, "png");
        AssertSame(card, JsonNode.Parse(CardSamples.TextChunks(png)["ccv3"])!);
        var reimported = await ImportAsync(client, png, "image/png");
        AssertSame(card, Json(await ExportAsync(client, reimported["worldId"]!.GetValue<string>(), "card-v3")));
    }

    [Fact]
    public async Task World_info_lorebook_maps_every_setting_and_round_trips()
    {
        var client = app.Alice();
        var book = CardSamples.WorldInfo();
        var result = await ImportAsync(client, CardSamples.Bytes(book));
        Assert.Equal(("lorebook", 3), (result["kind"]!.GetValue<string>(), result["loreEntries"]!.GetValue<int>()));
        var worldId = result["worldId"]!.GetValue<string>();

        var files = (await client.GetAsync($"/api/worlds/{worldId}/canon").ExpectAsync(HttpStatusCode.OK))["files"]!.AsObject();
        var tides = files["lore/001-tides.md"]!.GetValue<string>();
        foreach (var expected in new[] { "/tide(s)?/i", "logic: not_any", "probability: 40", "order: 20", "position: at_depth", "depth: 1", "role: assistant", "cooldown: 2", "delay: 5", "groupWeight: 30" })
            Assert.Contains(expected, tides);
        Assert.Contains("- sea", tides);
        Assert.Contains("enabled: false", files["lore/002-always.md"]!.GetValue<string>());
        Assert.Contains("sticky: 3", files["lore/000-storms.md"]!.GetValue<string>());

        AssertSame(book, Json(await ExportAsync(client, worldId, "lorebook")));
    }

    [Fact]
    public async Task Lorebook_into_an_own_world_adds_a_version_keeping_its_canon_and_edits_show_in_the_export()
    {
        var client = app.Alice();
        var worldId = (await ImportAsync(client, CardSamples.Bytes(CardSamples.V2Card())))["worldId"]!.GetValue<string>();
        var added = await ImportAsync(client, CardSamples.Bytes(CardSamples.WorldInfo()), query: $"?worldId={worldId}");
        Assert.Equal((worldId, 2), (added["worldId"]!.GetValue<string>(), added["version"]!.GetValue<int>()));
        var files = (await client.GetAsync($"/api/worlds/{worldId}/canon").ExpectAsync(HttpStatusCode.OK))["files"]!.AsObject();
        Assert.Contains("Mira is the harbour girl", files["world.md"]!.GetValue<string>());
        Assert.True(files.ContainsKey("lore/001-tides.md"));
        Assert.False(files.ContainsKey("lore/000-silver-key.md"));

        // Edit one entry and the world text; the export carries the edits and keeps what LOOM does not model.
        var edited = files.ToDictionary(f => f.Key, f => f.Value!.GetValue<string>());
        edited["lore/001-tides.md"] = edited["lore/001-tides.md"].Replace("The tide turns at midnight.", "The tide turns at dawn.");
        edited["world.md"] = edited["world.md"].Replace("She knows every boat.", "She knows every boat and every lie.");
        await client.PutAsJsonAsync($"/api/worlds/{worldId}", new { files = edited }).ExpectAsync(HttpStatusCode.OK);

        var book = Json(await ExportAsync(client, worldId, "lorebook"));
        Assert.Equal("The tide turns at dawn.", book["entries"]!["7"]!["content"]!.GetValue<string>());
        Assert.Equal("isExclude", book["entries"]!["7"]!["characterFilter"]!.AsObject().First().Key);
        var card = Json(await ExportAsync(client, worldId, "card-v2"));
        Assert.Equal("Mira is the harbour girl of Saltmere, a fog city of salt and stone. She knows every boat and every lie.",
            card["data"]!["description"]!.GetValue<string>());
        Assert.Equal("0.5", card["data"]!["extensions"]!["talkativeness"]!.GetValue<string>());
        Assert.Equal(3, card["data"]!["character_book"]!["entries"]!.AsArray().Count);
    }

    [Fact]
    public async Task Another_owners_world_cannot_be_imported_into()
    {
        var worldId = (await ImportAsync(app.Alice(), CardSamples.Bytes(CardSamples.V2Card())))["worldId"]!.GetValue<string>();
        await app.Bob().PostAsync($"/api/worlds/import?worldId={worldId}", Body(CardSamples.Bytes(CardSamples.WorldInfo()), "application/json"))
            .ExpectProblemAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task An_imported_card_plays_with_its_lore()
    {
        var client = app.Alice();
        var worldId = (await ImportAsync(client, CardSamples.Bytes(CardSamples.V2Card())))["worldId"]!.GetValue<string>();
        var sessionId = await client.CreateSessionAsync(worldId);
        var turn = await client.PlayAsync(sessionId, "I ask the Guild clerk about the ferry.");
        Assert.Contains(turn["lore"]!.AsArray(), f => f!["entry"]!.GetValue<string>() == "lore/001-guild.md" && f["key"]!.GetValue<string>() == "Guild");
    }

    public static TheoryData<string, byte[], string, HttpStatusCode, string> Hostile()
    {
        var goodPng = CardSamples.Png(("chara", CardSamples.V2Card().ToJsonString()));
        var badCrc = (byte[])goodPng.Clone();
        badCrc[^20] ^= 0xFF; // inside the last text chunk
        var bomb = CardSamples.Charx(CardSamples.V2Card(), ("assets/other/zeros.bin", new byte[80 * 1024 * 1024]));
        // The same, under an entry name of 2,000 characters: the problem names the entry, but not all of it.
        var namedBomb = CardSamples.Charx(CardSamples.V2Card(), ("assets/other/" + new string('z', 2000) + ".bin", new byte[80 * 1024 * 1024]));
        // A zip whose end record points its central directory at the first local header: the directory is read late.
        var damaged = CardSamples.Charx(CardSamples.V2Card());
        var end = damaged.AsSpan().LastIndexOf("PK\u0005\u0006"u8);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(damaged.AsSpan(end + 16), 0);
        return new()
        {
            { "charx with a damaged directory", damaged, "application/zip", HttpStatusCode.UnprocessableEntity, "invalid_charx" },
            { "json card with a key twice", Encoding.UTF8.GetBytes("{\"name\":\"A\",\"name\":\"B\",\"first_mes\":\"hi\"}"), "application/json", HttpStatusCode.UnprocessableEntity, "invalid_json" },
            { "empty", [], "application/octet-stream", HttpStatusCode.BadRequest, "not_a_card" },
            { "random bytes", [1, 2, 3, 4, 5, 6, 7, 8, 9], "application/octet-stream", HttpStatusCode.BadRequest, "not_a_card" },
            { "json array", Encoding.UTF8.GetBytes("[1,2]"), "application/json", HttpStatusCode.BadRequest, "not_a_card" },
            { "json of something else", Encoding.UTF8.GetBytes("{\"hello\":1}"), "application/json", HttpStatusCode.BadRequest, "not_a_card" },
            { "broken json", Encoding.UTF8.GetBytes("{\"spec\":\"chara_card_v2\",\"data\":{"), "application/json", HttpStatusCode.UnprocessableEntity, "invalid_json" },
            { "png without card", CardSamples.Png(), "image/png", HttpStatusCode.UnprocessableEntity, "card_chunk_missing" },
            { "truncated png", goodPng[..(goodPng.Length / 2)], "image/png", HttpStatusCode.UnprocessableEntity, "invalid_png" },
            { "png with bad checksum", badCrc, "image/png", HttpStatusCode.UnprocessableEntity, "invalid_png" },
            { "png chunk not base64", InsertText(CardSamples.Png(), Encoding.Latin1.GetBytes("chara\0!!!")), "image/png", HttpStatusCode.UnprocessableEntity, "invalid_card" },
            { "zip bomb", bomb, "application/zip", HttpStatusCode.RequestEntityTooLarge, "import_too_large" },
            { "zip bomb with a 2,000-character entry name", namedBomb, "application/zip", HttpStatusCode.RequestEntityTooLarge, "import_too_large" },
            { "zip without card.json", Encoding.UTF8.GetBytes("PK\u0003\u0004 not really a zip"), "application/zip", HttpStatusCode.UnprocessableEntity, "invalid_charx" },
            { "oversize", new byte[17 * 1024 * 1024], "application/octet-stream", HttpStatusCode.RequestEntityTooLarge, "import_too_large" },
            { "card without name", Encoding.UTF8.GetBytes("{\"spec\":\"chara_card_v2\",\"data\":{\"description\":\"x\"}}"), "application/json", HttpStatusCode.UnprocessableEntity, "invalid_card" },
        };
    }

    private static byte[] InsertText(byte[] png, byte[] body)
    {
        var iend = png.Length - 12;
        using var output = new MemoryStream();
        output.Write(png, 0, iend);
        var length = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(length, (uint)body.Length);
        output.Write(length);
        var typed = Encoding.ASCII.GetBytes("tEXt").Concat(body).ToArray();
        output.Write(typed);
        var crc = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(crc, System.IO.Hashing.Crc32.HashToUInt32(typed));
        output.Write(crc);
        output.Write(png, iend, 12);
        return output.ToArray();
    }

    [Theory]
    [MemberData(nameof(Hostile), DisableDiscoveryEnumeration = true)] // an 80 MB zip and a 17 MB body: never serialize them at discovery
    public async Task Hostile_files_are_refused_with_a_problem_and_nothing_is_stored(string what, byte[] data, string type, HttpStatusCode status, string code)
    {
        var client = app.Carol();
        var before = (await client.GetAsync("/api/worlds").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray().Count;
        var problem = await client.PostAsync("/api/worlds/import", Body(data, type)).ExpectProblemAsync(status);
        Assert.True(code == problem["code"]?.GetValue<string>(), $"{what}: {problem.ToJsonString()}");
        // A refusal explains itself without echoing the file back (names and ids from it are quoted short).
        Assert.True(problem["detail"]!.GetValue<string>().Length <= 400, $"{what}: {problem.ToJsonString()}");
        var after = (await client.GetAsync("/api/worlds").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray().Count;
        Assert.Equal(before, after);
    }

    [Fact]
    public async Task Unknown_export_format_is_400_and_a_private_world_is_404_to_others()
    {
        var client = app.Alice();
        var worldId = (await ImportAsync(client, CardSamples.Bytes(CardSamples.V2Card())))["worldId"]!.GetValue<string>();
        await client.GetAsync($"/api/worlds/{worldId}/export?format=docx").ExpectProblemAsync(HttpStatusCode.BadRequest);
        // A private world exports only for those who may see it.
        await client.PatchAsJsonAsync($"/api/worlds/{worldId}", new { visibility = "private" }).ExpectAsync(HttpStatusCode.OK);
        await app.Bob().GetAsync($"/api/worlds/{worldId}/export?format=card-v3").ExpectProblemAsync(HttpStatusCode.NotFound);
    }
}
