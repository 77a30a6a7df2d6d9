using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Loom.Errors;

namespace Loom.Import;

/// <summary>One player → character exchange of a chat: what becomes one turn. <see cref="Swipes"/> are the character's
/// alternative replies when it answered in one message that had several (the narrative is <c>Swipes[SwipeId]</c>).</summary>
public sealed record ChatExchange(string Input, string Narrative, string? Speaker, DateTime? InputAt, DateTime? NarrativeAt,
    IReadOnlyList<string>? Swipes = null, int SwipeId = 0);

/// <summary>A SillyTavern chat as LOOM reads it: who speaks, the greeting it opened with, and its exchanges.</summary>
public sealed record ParsedChat(string? UserName, string? CharacterName, DateTime? CreatedAt, string? Opening, List<ChatExchange> Exchanges, int HiddenMessages);

/// <summary>
/// SillyTavern's chat files (<c>.jsonl</c>): a metadata line (<c>user_name</c>, <c>character_name</c>,
/// <c>create_date</c>, <c>chat_metadata</c>), then one message per line (<c>name</c>, <c>is_user</c>, <c>is_system</c>,
/// <c>send_date</c>, <c>mes</c>, <c>swipes</c>, <c>swipe_id</c>). Player lines become inputs and the character's lines
/// that follow them the narrative; character lines before the first player line are the greeting the story opened
/// with. <c>mes</c> is the swipe the player kept, so it is the narrative; the other swipes of a reply made of one
/// character message become the turn's alternatives (at most <see cref="MaxSwipes"/>, the kept one always among them).
/// A reply made of several character messages has no single set of swipes: only the kept texts are read.
/// </summary>
public static partial class SillyTavernChat
{
    public const string Format = "st-jsonl";
    public const string ContentType = "application/jsonl";
    /// <summary>A chat file may be at most this large, hold this many lines, each at most this long.</summary>
    public const int MaxFileBytes = 32 * 1024 * 1024;
    public const int MaxLines = 20_000;
    public const int MaxLineBytes = 1024 * 1024;
    /// <summary>Most swipes kept per reply: a turn's alternatives (<c>TurnAlternatives.MaxAlternatives</c>).</summary>
    public const int MaxSwipes = 20;

    public static LoomProblemException NotAChat(string detail) => new(400, "not_a_chat", "Not a SillyTavern chat", detail);

    private static LoomProblemException TooLarge(string detail) => new(413, "import_too_large", "Import too large", detail);

    /// <summary>Reads a chat file; anything that is not one is a 400 (or 413 past the limits) naming the line.</summary>
    public static ParsedChat Parse(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Length > MaxFileBytes) throw TooLarge($"A chat file may be at most {MaxFileBytes} bytes.");
        var lines = Lines(data);
        if (lines.Count == 0) throw NotAChat("The file is empty.");

        string? userName = null, characterName = null;
        DateTime? createdAt = null;
        var first = 0;
        var head = Line(lines[0]);
        if (head["mes"] is null)
        {
            // The metadata line (SillyTavern always writes one; a file without it starts with a message).
            userName = Text(head, "user_name", lines[0].Number);
            characterName = Text(head, "character_name", lines[0].Number);
            createdAt = Date(head["create_date"]);
            if (head["chat_metadata"] is { } meta && meta is not JsonObject)
                throw NotAChat($"Line {lines[0].Number}: chat_metadata must be an object.");
            if (userName is null && characterName is null && head["chat_metadata"] is null)
                throw NotAChat($"Line {lines[0].Number}: the first line is neither chat metadata (user_name, character_name, chat_metadata) nor a message (mes).");
            first = 1;
        }

        string? opening = null;
        var exchanges = new List<ChatExchange>();
        var hidden = 0;
        StringBuilder? input = null, narrative = null;
        (List<string> Texts, int Kept)? swipeSet = null;
        var replies = 0;
        string? speaker = null;
        DateTime? inputAt = null, narrativeAt = null;
        foreach (var line in lines.Skip(first))
        {
            var message = Line(line);
            var text = Text(message, "mes", line.Number) ?? throw NotAChat($"Line {line.Number}: a message needs its text in 'mes'.");
            var isUser = Flag(message, "is_user", line.Number);
            var swipes = Swipes(message, text, line.Number);
            if (Flag(message, "is_system", line.Number))
            {
                // Hidden from the character in SillyTavern (narrator notes, hidden messages): not part of the story.
                hidden++;
                continue;
            }
            var at = Date(message["send_date"]);
            if (isUser)
            {
                if (narrative is not null) Flush();
                input = Append(input, text);
                speaker ??= Text(message, "name", line.Number);
                inputAt ??= at;
            }
            else if (input is null)
            {
                opening = opening is null ? text : opening + "\n\n" + text;
            }
            else
            {
                narrative = Append(narrative, text);
                narrativeAt = at ?? narrativeAt;
                swipeSet = ++replies == 1 ? swipes : null;
            }
        }
        if (input is not null) Flush();
        return new ParsedChat(userName, characterName, createdAt, opening, exchanges, hidden);

        void Flush()
        {
            exchanges.Add(new ChatExchange(input!.ToString(), narrative?.ToString() ?? "", speaker, inputAt, narrativeAt,
                swipeSet?.Texts, swipeSet?.Kept ?? 0));
            input = narrative = null;
            swipeSet = null;
            replies = 0;
            speaker = null;
            inputAt = narrativeAt = null;
        }
    }

    /// <summary>A chat file of the given exchanges: the metadata line, the opening, then player and character lines.</summary>
    public static byte[] Write(string userName, string characterName, DateTime createdAt, string? opening, IEnumerable<ChatExchange> exchanges)
    {
        ArgumentNullException.ThrowIfNull(exchanges);
        var text = new StringBuilder();
        Add(new JsonObject
        {
            ["user_name"] = userName,
            ["character_name"] = characterName,
            ["create_date"] = createdAt.ToUniversalTime().ToString("yyyy-MM-dd@HH'h'mm'm'ss's'", CultureInfo.InvariantCulture),
            ["chat_metadata"] = new JsonObject(),
        });
        if (!string.IsNullOrEmpty(opening)) Add(Message(characterName, isUser: false, createdAt, opening));
        foreach (var exchange in exchanges)
        {
            Add(Message(exchange.Speaker ?? userName, isUser: true, exchange.InputAt ?? createdAt, exchange.Input));
            if (exchange.Narrative.Length > 0)
            {
                Add(Message(characterName, isUser: false, exchange.NarrativeAt ?? exchange.InputAt ?? createdAt, exchange.Narrative,
                    exchange.Swipes, exchange.SwipeId));
            }
        }
        return Encoding.UTF8.GetBytes(text.ToString());

        void Add(JsonObject line) => text.Append(line.ToJsonString(Compact)).Append('\n');
    }

    private static JsonObject Message(string name, bool isUser, DateTime at, string mes, IReadOnlyList<string>? swipes = null, int swipeId = 0)
    {
        var message = new JsonObject
        {
            ["name"] = name,
            ["is_user"] = isUser,
            ["is_system"] = false,
            ["send_date"] = at.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            ["mes"] = mes,
        };
        if (!isUser)
        {
            var kept = swipes is { Count: > 1 } && swipeId >= 0 && swipeId < swipes.Count;
            message["swipes"] = kept ? new JsonArray([.. swipes!.Select(t => (JsonNode?)JsonValue.Create(t))]) : new JsonArray(mes);
            message["swipe_id"] = kept ? swipeId : 0;
        }
        message["extra"] = new JsonObject();
        return message;
    }

    private static readonly JsonSerializerOptions Compact = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly record struct RawLine(int Number, ReadOnlyMemory<byte> Bytes);

    /// <summary>The non-blank lines (numbered from 1 as an editor shows them), bounded in count and length.</summary>
    private static List<RawLine> Lines(byte[] data)
    {
        var lines = new List<RawLine>();
        var start = data.AsSpan().StartsWith("\uFEFF"u8) ? 3 : 0;
        var number = 0;
        while (start <= data.Length)
        {
            var end = Array.IndexOf(data, (byte)'\n', start);
            if (end < 0) end = data.Length;
            number++;
            var line = data.AsMemory(start, end - start);
            if (line.Length > MaxLineBytes) throw TooLarge($"Line {number} is longer than {MaxLineBytes} bytes.");
            if (!line.Span.Trim(" \t\r"u8).IsEmpty)
            {
                if (lines.Count == MaxLines) throw TooLarge($"A chat file may hold at most {MaxLines} lines.");
                lines.Add(new RawLine(number, line));
            }
            start = end + 1;
        }
        return lines;
    }

    private static JsonObject Line(RawLine line)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(line.Bytes.Span, documentOptions: JsonValues.DocumentOptions);
        }
        catch (JsonException)
        {
            throw NotAChat($"Line {line.Number} is not JSON: a SillyTavern chat has one JSON object per line.");
        }
        return node as JsonObject ?? throw NotAChat($"Line {line.Number} is not a JSON object.");
    }

    /// <summary>
    /// A character message's swipes when it has several and says which one it kept (<c>swipe_id</c>); <c>mes</c> is that one
    /// (what SillyTavern showed last wins over a stale swipe). Past <see cref="MaxSwipes"/> the first others are kept.
    /// </summary>
    private static (List<string> Texts, int Kept)? Swipes(JsonObject message, string mes, int line)
    {
        if (message["swipes"] is not { } node) return null;
        if (node is not JsonArray array) throw NotAChat($"Line {line}: swipes must be an array.");
        var texts = new List<string>(Math.Min(array.Count, MaxSwipes));
        foreach (var item in array)
        {
            if (item is not JsonValue value || value.GetValueKind() != JsonValueKind.String)
                throw NotAChat($"Line {line}: swipes must be an array of strings.");
            texts.Add(value.GetValue<string>());
        }
        var id = message["swipe_id"] is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<int>(out var n) ? n : -1;
        if (texts.Count < 2 || id < 0 || id >= texts.Count) return null;
        texts[id] = mes;
        if (texts.Count <= MaxSwipes) return (texts, id);
        var others = texts.Where((_, i) => i != id).Take(MaxSwipes - 1).ToList();
        var kept = Math.Min(id, MaxSwipes - 1);
        others.Insert(kept, mes);
        return (others, kept);
    }

    private static string? Text(JsonObject o, string name, int line) => o[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => throw NotAChat($"Line {line}: {name} must be a string."),
    };

    private static bool Flag(JsonObject o, string name, int line) => o[name] switch
    {
        null => false,
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        _ => throw NotAChat($"Line {line}: {name} must be true or false."),
    };

    private static StringBuilder Append(StringBuilder? text, string more) =>
        text is null ? new StringBuilder(more) : text.Append("\n\n").Append(more);

    /// <summary>SillyTavern has written dates as epoch milliseconds, ISO 8601, "October 29, 2023 4:47pm" and
    /// "2023-10-29@16h47m52s"; a date it cannot read is simply unknown (the import time stands in).</summary>
    private static DateTime? Date(JsonNode? node)
    {
        if (node is not JsonValue value) return null;
        if (value.GetValueKind() == JsonValueKind.Number && value.TryGetValue<double>(out var ms) && ms is > 0 and < 253402300799999)
            return DateTime.UnixEpoch.AddMilliseconds(ms);
        if (value.GetValueKind() != JsonValueKind.String) return null;
        var text = value.GetValue<string>().Trim();
        if (DateTime.TryParseExact(text, "yyyy-MM-dd@HH'h'mm'm'ss's'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var stamped))
            return stamped;
        text = AmPm().Replace(text, "$1 $2");
        return DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed) ? parsed : null;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(\d)\s*([aApP][mM])$")]
    private static partial System.Text.RegularExpressions.Regex AmPm();
}
