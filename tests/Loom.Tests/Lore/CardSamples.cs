using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using System.Text;
using System.Text.Json.Nodes;

namespace Loom.Tests.Lore;

/// <summary>Cards and lorebooks written for these tests, in each format, with fields and extensions LOOM does not model.</summary>
internal static class CardSamples
{
    public static JsonObject V2Card() => (JsonObject)JsonNode.Parse("""
    {
      "spec": "chara_card_v2",
      "spec_version": "2.0",
      "data": {
        "name": "Mira Vell",
        "description": "Mira is the harbour girl of Saltmere, a fog city of salt and stone. She knows every boat.",
        "personality": "Wry, guarded, quick to laugh once she trusts you.",
        "scenario": "{{user}} arrives on the night ferry and Mira is the only one on the quay.",
        "first_mes": "*Mira looks up from the nets.* Late ferry again?",
        "alternate_greetings": ["*The quay is empty but for a lantern.* Who's there?", "Another one for the lighthouse?"],
        "mes_example": "<START>\n{{user}}: Hello.\n{{char}}: *She nods.* Evening.",
        "creator_notes": "Best with slow burn.",
        "system_prompt": "",
        "post_history_instructions": "",
        "tags": ["harbour", "slice of life"],
        "creator": "test-author",
        "character_version": "1.2",
        "extensions": { "talkativeness": "0.5", "fav": false, "depth_prompt": { "prompt": "Mira smells of salt.", "depth": 4, "role": "system" } },
        "character_book": {
          "name": "Saltmere",
          "scan_depth": 3,
          "token_budget": 600,
          "recursive_scanning": true,
          "extensions": { "custom_book_flag": 7 },
          "entries": [
            {
              "keys": ["silver key", "sea gate"],
              "content": "The silver key opens the sea gate under the lighthouse.",
              "extensions": { "position": 4, "depth": 2, "role": 0, "selectiveLogic": 3, "probability": 100, "useProbability": true,
                              "sticky": 2, "cooldown": 1, "delay": 0, "exclude_recursion": false, "prevent_recursion": true,
                              "group": "", "group_weight": 100, "scan_depth": null, "match_whole_words": true, "vectorized": false, "automation_id": "" },
              "enabled": true,
              "insertion_order": 50,
              "case_sensitive": false,
              "name": "Silver key",
              "priority": 10,
              "id": 0,
              "comment": "Silver key",
              "selective": true,
              "secondary_keys": ["Mira", "lighthouse"],
              "constant": false,
              "position": "after_char"
            },
            {
              "keys": ["Guild"],
              "content": "The Salt Guild runs the harbour and taxes every catch.",
              "extensions": {},
              "enabled": true,
              "insertion_order": 100,
              "id": 1,
              "comment": "",
              "selective": false,
              "secondary_keys": [],
              "constant": false,
              "position": "before_char",
              "unknown_entry_field": { "kept": true }
            }
          ]
        }
      },
      "top_level_extra": 1
    }
    """)!;

    public static JsonObject V3Card()
    {
        var card = V2Card();
        card["spec"] = "chara_card_v3";
        card["spec_version"] = "3.0";
        var data = (JsonObject)card["data"]!;
        data["nickname"] = "Mir";
        data["group_only_greetings"] = new JsonArray("Hello, all of you.");
        data["assets"] = new JsonArray(JsonNode.Parse("""{ "type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png" }"""));
        data["creation_date"] = 1700000000;
        return card;
    }

    public static JsonObject WorldInfo() => (JsonObject)JsonNode.Parse("""
    {
      "entries": {
        "0": { "uid": 0, "key": ["storm"], "keysecondary": [], "comment": "Storms", "content": "Storms come from the west.",
               "constant": false, "vectorized": false, "selective": true, "selectiveLogic": 0, "addMemo": true, "order": 100,
               "position": 1, "disable": false, "excludeRecursion": false, "preventRecursion": false, "delayUntilRecursion": false,
               "probability": 100, "useProbability": true, "depth": 4, "group": "", "groupOverride": false, "groupWeight": 100,
               "scanDepth": null, "caseSensitive": null, "matchWholeWords": null, "useGroupScoring": null, "automationId": "",
               "role": null, "sticky": 3, "cooldown": 0, "delay": 0, "displayIndex": 0 },
        "7": { "uid": 7, "key": ["/tide(s)?/i"], "keysecondary": ["moon"], "comment": "Tides", "content": "The tide turns at midnight.",
               "constant": false, "selective": true, "selectiveLogic": 2, "order": 20, "position": 4, "depth": 1, "role": 2,
               "disable": false, "probability": 40, "useProbability": true, "group": "sea,weather", "groupWeight": 30,
               "sticky": 0, "cooldown": 2, "delay": 5, "displayIndex": 1, "characterFilter": { "isExclude": false, "names": [] } },
        "3": { "uid": 3, "key": [], "comment": "Always", "content": "Salt is everywhere.", "constant": true, "disable": true,
               "order": 5, "position": 0, "displayIndex": 2 }
      },
      "name": "Saltmere weather",
      "extensions": { "kept": "yes" }
    }
    """)!;

    public static byte[] Bytes(JsonNode json) => Encoding.UTF8.GetBytes(json.ToJsonString());

    /// <summary>A 1×1 PNG with the given tEXt chunks (keyword, JSON) before IEND, built byte by byte.</summary>
    public static byte[] Png(params (string Keyword, string Json)[] cards)
    {
        using var png = new MemoryStream();
        png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(header, 1);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), 1);
        header[8] = 8;
        Chunk(png, "IHDR", header);
        using (var pixels = new MemoryStream())
        {
            using (var z = new ZLibStream(pixels, CompressionLevel.Fastest, leaveOpen: true)) z.Write([0, 0x40]);
            Chunk(png, "IDAT", pixels.ToArray());
        }
        foreach (var (keyword, json) in cards)
            Chunk(png, "tEXt", Encoding.Latin1.GetBytes(keyword + "\0" + Convert.ToBase64String(Encoding.UTF8.GetBytes(json))));
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(length, (uint)data.Length);
        s.Write(length);
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        s.Write(typed);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32.HashToUInt32(typed));
        s.Write(crc);
    }

    /// <summary>The tEXt chunks of a PNG by keyword, decoded.</summary>
    public static Dictionary<string, string> TextChunks(byte[] png)
    {
        var result = new Dictionary<string, string>();
        for (var pos = 8; pos + 12 <= png.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos));
            var type = Encoding.ASCII.GetString(png, pos + 4, 4);
            if (type == "tEXt")
            {
                var body = png.AsSpan(pos + 8, length);
                var nul = body.IndexOf((byte)0);
                result[Encoding.Latin1.GetString(body[..nul])] = Encoding.UTF8.GetString(Convert.FromBase64String(Encoding.Latin1.GetString(body[(nul + 1)..])));
            }
            pos += 12 + length;
        }
        return result;
    }

    public static byte[] Charx(JsonNode card, params (string Name, byte[] Data)[] extra)
    {
        using var zip = new MemoryStream();
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
        {
            using (var entry = archive.CreateEntry("card.json").Open()) entry.Write(Bytes(card));
            foreach (var (name, data) in extra)
                using (var entry = archive.CreateEntry(name, CompressionLevel.SmallestSize).Open()) entry.Write(data);
        }
        return zip.ToArray();
    }
}
