using System.Globalization;
using Loom.Memory;

namespace Loom.Tests.Memory;

/// <summary>A fact planted in the story at one turn and asked about at a later one. A moved fact changed at
/// <see cref="MovedAt"/>: <see cref="Answer"/> is then the new value and <see cref="OldAnswer"/> the one it replaced.</summary>
public sealed record PlantedFact(int Index, string EntityId, int PlantedAt, int AskedAt, string Question, string Answer,
    int? MovedAt = null, string? OldAnswer = null)
{
    /// <summary>A question about something the story never said (no answer exists; <see cref="EntityId"/> is empty).</summary>
    public bool Unstated => EntityId.Length == 0;
}

/// <summary>One scripted turn: what the player typed and what the offline narrator answered (narrative + ops).</summary>
public sealed record ScriptedTurn(int Seq, string Input, string Answer, PlantedFact? Asks);

/// <param name="Moved">Asked facts that had moved; <paramref name="Stale"/>: of those, how many retrievals held the old
/// value without the new one (the old value won).</param>
/// <param name="Unstated">Questions about things never stated; <paramref name="Distracted"/>: of those, how many retrievals
/// still carried a planted fact of the same kind (another object's hiding place, another door's password) — the
/// material a narrator could wrongly answer from.</param>
public sealed record FidelityResult(int Asked, int Found, int Entities, double AverageTokens, int MaxTokens, List<PlantedFact> Missed,
    int Moved = 0, int Stale = 0, int Unstated = 0, int Distracted = 0)
{
    public double Share => Asked == 0 ? 0 : (double)Found / Asked;
}

/// <summary>How the story asks about its facts: in the words it planted them with, or in other words (descriptions
/// instead of names, synonyms), and whether some facts move before they are asked about.</summary>
public sealed record FidelityVariant(bool Paraphrased = false, bool MoveSome = false, bool AskUnstated = false);

/// <summary>
/// The fidelity benchmark of issue 4: a deterministic 500-turn harbour story with recurring characters, places,
/// background facts and events (hundreds of entities, summaries every ten turns) that plants 50 facts at known turns
/// and asks about each 40–100 turns later. A fact counts as recalled when the memory block retrieved for the asking
/// turn contains it.
/// </summary>
public static class FidelityStory
{
    private static readonly string[] Characters =
    [
        "Mira", "Tomas", "Ada", "Brannock", "Celeste", "Dorian", "Edda", "Fenwick", "Greta", "Hollis", "Ilse", "Jory",
        "Katrin", "Lucan", "Maud", "Nils", "Oona", "Piet", "Quill", "Rosalind", "Sable", "Teodor", "Ulla", "Vesna",
        "Wendel", "Xander", "Yara", "Zeb", "Aurelio", "Bettina", "Cosmo", "Delphine", "Emeric", "Flora", "Gideon",
        "Hester", "Ivo", "Juno", "Kasimir", "Linnea",
    ];

    private static readonly string[] Places =
    [
        "Salt Harbor", "Gull Market", "Old Lighthouse", "Customs House", "Chapel of Tides", "Rope Walk", "Drowned Inn",
        "North Gate", "Fish Hall", "Tanner's Row", "Widow's Pier", "Bell Tower", "Glass Street", "Smugglers' Cove",
        "Harbor Master's Office", "Lantern Square", "Cooper's Yard", "Sunken Garden", "Black Quay", "Weaver Lane",
        "Admiralty Steps", "Mussel Flats", "Cliff Road", "Saint Aldo's Crypt", "Copper Bridge",
    ];

    private static readonly string[] Activities =
    [
        "mending nets", "haggling over eels", "counting coins", "arguing with a sailor", "sharpening a knife",
        "reading a soaked letter", "feeding the gulls", "singing an old shanty", "painting a hull", "waiting for news",
        "gutting fish", "playing dice", "lighting candles", "repairing a lantern", "watching the tide",
    ];

    private static readonly string[] Objects =
    [
        "silver key", "red ledger", "brass compass", "ivory dice", "jade amulet", "iron crown", "glass eye",
        "copper lantern", "bone flute", "velvet mask", "amber ring", "obsidian dagger", "pearl comb", "tin soldier",
        "oak chest", "blue vial", "gold seal", "wax tablet", "storm map", "ember stone", "crow feather", "salt jar",
        "moon coin", "rope ladder", "black candle",
    ];

    private static readonly string[] HidingPlaces =
    [
        "under the third stair of the Old Lighthouse", "inside the great bell of the Bell Tower",
        "behind a loose brick in the Fish Hall", "in a tar barrel at the Rope Walk", "beneath the altar of the Chapel of Tides",
        "in the rafters of the Drowned Inn", "under a paving stone in Lantern Square", "inside a drowned statue in the Sunken Garden",
        "in a crab trap below Widow's Pier", "behind the portrait in the Harbor Master's Office", "in the hollow post of the Copper Bridge",
        "under the floorboards of Cooper's Yard", "inside a coil of rope at the Black Quay", "in the ashes of the Customs House stove",
        "in a nest on the Cliff Road", "under a loom in Weaver Lane", "in a jar buried on the Mussel Flats",
        "in the seventh coffin of Saint Aldo's Crypt", "behind the fountain on Glass Street", "in a sack of salt at the Gull Market",
        "inside the harbor chain's winch", "under the Admiralty Steps", "in a boot nailed above the Tanner's Row door",
        "in the cistern of the North Gate", "inside a barrel of eels at Smugglers' Cove",
    ];

    private static readonly string[] Doors =
    [
        "North Gate postern", "Guild vault", "smugglers' tunnel", "archive door", "crypt gate", "lighthouse hatch",
        "customs strongroom", "chapel undercroft", "bell tower trapdoor", "admiralty cellar", "cove sea-door",
        "tannery back door", "harbor chain room", "glasshouse wicket", "weavers' hall", "inn's cellar", "bridge toll house",
        "fish hall ice room", "garden grotto", "cliff watchtower", "quay warehouse", "market strongbox",
        "rope walk loft", "mussel flats shed", "master's study",
    ];

    private static readonly string[] Passwords =
    [
        "saltwind", "nightjar", "seven herons", "brine and ash", "copper moon", "the drowned bell", "gullfeather",
        "three knots", "red tide", "lantern's end", "old Aldo sleeps", "silver eel", "fogbound", "north of nowhere",
        "kelp crown", "widow's wake", "tarry hands", "lucky dice", "blackwater", "the seventh wave", "glass heron",
        "ember and oak", "quiet anchor", "twice drowned", "morning gull",
    ];

    /// <summary>Each object in other words: what a player who forgot its name would say.</summary>
    private static readonly string[] ObjectDescriptions =
    [
        "little shiny opener for locks", "crimson account book", "device that always points north", "pair of white gambling cubes",
        "green stone charm", "metal circlet fit for a king", "false eyeball", "lamp of reddish metal", "whistle carved from a skeleton",
        "soft face covering for a ball", "yellow fossil-resin band for a finger", "black glass blade", "hair tool made of sea gems",
        "little metal toy warrior", "big wooden trunk", "small azure flask", "golden stamp for letters", "writing board coated in wax",
        "chart of the weather at sea", "glowing coal-like rock", "plume from a black bird", "pot of sea salt", "token named after the night sky",
        "hanging steps of cord", "dark wax taper",
    ];

    /// <summary>Each door in other words.</summary>
    private static readonly string[] DoorDescriptions =
    [
        "little back entrance in the northern wall", "strongroom of the merchants' association", "secret passage used by contraband runners",
        "entrance to the record room", "iron gate of the burial vault", "opening at the top of the beacon tower", "locked treasure room of the tax office",
        "cellar beneath the church", "trapdoor up where the bells hang", "basement of the naval headquarters", "door to the sea in the hidden bay",
        "rear exit of the leather works", "room that holds the harbour's great chain", "small gate of the glass workshop", "guild house of the cloth makers",
        "storeroom under the tavern", "little house where the crossing fee is paid", "cold store of the fish market", "cave in the garden",
        "lookout tower on the cliffs", "storehouse on the wharf", "locked box at the market", "upper floor of the rope works",
        "hut out on the shellfish flats", "private room of the harbour chief",
    ];

    /// <summary>Things the story never hides or locks: questions about them have no answer in memory.</summary>
    private static readonly string[] NeverHidden =
    [
        "whalebone harpoon", "cracked spyglass", "captain's logbook", "silk purse", "pewter tankard",
        "bishop's ring", "rusty anchor chain", "lute with no strings", "sealskin coat", "book of tide tables",
    ];

    public static IReadOnlyList<ScriptedTurn> Build(int turnCount = 500, int factCount = 50, FidelityVariant? variant = null)
    {
        variant ??= new FidelityVariant();
        var facts = PlanFacts(turnCount, factCount, variant);
        var plantedAt = facts.Where(f => !f.Unstated).ToDictionary(f => f.PlantedAt);
        var askedAt = facts.ToDictionary(f => f.AskedAt);
        var movedAt = facts.Where(f => f.MovedAt is not null).ToDictionary(f => f.MovedAt!.Value);
        var turns = new List<ScriptedTurn>(turnCount);
        for (var seq = 1; seq <= turnCount; seq++)
        {
            var character = Characters[(seq * 7) % Characters.Length];
            var other = Characters[(seq * 11 + 3) % Characters.Length];
            var place = Places[(seq * 5) % Places.Length];
            var activity = Activities[(seq * 3) % Activities.Length];
            var ops = new List<string>
            {
                Op("character", character, $"{character} was last seen {activity} at {place}", ("located_at", place), ("mood", Mood(seq))),
                Op("location", place, $"{place}, where {character} was {activity}"),
            };
            string input;
            string narrative;
            if (askedAt.TryGetValue(seq, out var asked))
            {
                input = asked.Question;
                narrative = $"{character} frowns and tries to remember. Around {place} the crowd thins as the bells ring.";
            }
            else if (plantedAt.TryGetValue(seq, out var planted))
            {
                var (input0, narrative0, op) = Plant(planted, character, place);
                input = input0;
                narrative = narrative0;
                ops.Add(op);
            }
            else if (movedAt.TryGetValue(seq, out var moved))
            {
                var (input0, narrative0, op) = Move(moved);
                input = input0;
                narrative = narrative0;
                ops.Add(op);
            }
            else
            {
                input = $"I go to {place} and look for {character}.";
                narrative = $"At {place} you find {character} {activity}. {other} nods from across the way. " +
                            $"The air smells of salt and tar, and the gulls quarrel overhead.";
                ops.Add(Op("event", $"{character} at {place} on turn {seq}", $"{character} was {activity} at {place} when you arrived; {other} was there too", ("involves", $"{character}, {other}"), ("located_at", place)));
                if (seq % 3 == 0)
                {
                    var trivia = Trivia(seq);
                    ops.Add(Op("fact", trivia.Name, trivia.Content));
                    narrative += " " + trivia.Content + ".";
                }
            }
            turns.Add(new ScriptedTurn(seq, input, narrative + "\n\n```loom-memory\n{\"ops\":[" + string.Join(",", ops) + "]}\n```",
                askedAt.GetValueOrDefault(seq)));
        }
        return turns;
    }

    /// <summary>Plays the story into <paramref name="memory"/> like the session grain would, measuring recall at each asking turn.</summary>
    public static async Task<FidelityResult> RunAsync(WorldMemory memory, RollingSummarizer summarizer, IReadOnlyList<ScriptedTurn> turns, int tokenBudget)
    {
        var narratives = new List<TurnText>();
        var found = 0;
        var asked = 0;
        var tokens = new List<int>();
        var missed = new List<PlantedFact>();
        int moved = 0, stale = 0, unstated = 0, distracted = 0;
        foreach (var turn in turns)
        {
            var recent = string.Join("\n\n", narratives.TakeLast(3).Select(n => n.Narrative));
            var retrieval = await memory.RetrieveAsync(turn.Input, recent, tokenBudget);
            tokens.Add(retrieval.Tokens);
            if (turn.Asks is { Unstated: true })
            {
                unstated++;
                if (retrieval.EntityIds.Any(id => id.StartsWith("fact:where-the-", StringComparison.Ordinal) || id.StartsWith("fact:password-of-", StringComparison.Ordinal)))
                    distracted++;
            }
            else if (turn.Asks is { } fact)
            {
                asked++;
                var recalled = retrieval.EntityIds.Contains(fact.EntityId) && retrieval.Block.Contains(fact.Answer, StringComparison.Ordinal);
                if (recalled) found++;
                else missed.Add(fact);
                if (fact.OldAnswer is { } old)
                {
                    moved++;
                    if (!recalled && retrieval.Block.Contains(old, StringComparison.Ordinal)) stale++;
                }
            }

            var (narrative, ops, warning) = MemoryBlockParser.Split(turn.Answer);
            if (warning is not null) throw new InvalidOperationException($"Turn {turn.Seq}: {warning}");
            memory.Apply(ops, turn.Seq);
            narratives.Add(new TurnText(turn.Seq, turn.Input, narrative));
            if (summarizer.Due(turn.Seq, memory.LastSummarizedSeq) is { } range)
            {
                var text = summarizer.Summarize(narratives.Where(n => n.Seq >= range.FromSeq && n.Seq <= range.ToSeq).ToList());
                memory.Apply([summarizer.CreateOp(range, text)], turn.Seq);
            }
            await memory.RefreshEmbeddingsAsync();
            memory.TakeDirtyShards();
        }
        return new FidelityResult(asked, found, memory.Count, tokens.Average(), tokens.Max(), missed, moved, stale, unstated, distracted);
    }

    private static List<PlantedFact> PlanFacts(int turnCount, int factCount, FidelityVariant variant)
    {
        var facts = new List<PlantedFact>(factCount);
        var step = Math.Max(1, (turnCount - 110) / factCount);
        var plantings = Enumerable.Range(0, factCount).Select(i => 5 + i * step).ToHashSet();
        for (var i = 0; i < factCount; i++)
        {
            var planted = 5 + i * step;
            var asked = planted + 40 + (i * 37) % 61;
            // One planting or question per turn: shift a question that lands on a busy turn.
            while (plantings.Contains(asked) || facts.Any(f => f.AskedAt == asked)) asked++;
            if (asked > turnCount) throw new ArgumentException("Too many facts for the number of turns.");
            var k = i / 2;
            if (i % 2 == 0)
            {
                var obj = Objects[k % Objects.Length];
                var hider = Characters[(k * 13 + 1) % Characters.Length];
                var question = variant.Paraphrased
                    ? $"Where was the {ObjectDescriptions[k % ObjectDescriptions.Length]} tucked away? I need it now."
                    : $"Where did {hider} hide the {obj}? I need it now.";
                var where = HidingPlaces[k % HidingPlaces.Length];
                // Every third hidden object is moved halfway between planting and asking: the new place must win.
                var move = variant.MoveSome && k % 3 == 0 ? planted + (asked - planted) / 2 : (int?)null;
                while (move is { } m && (plantings.Contains(m) || facts.Any(f => f.AskedAt == m || f.MovedAt == m))) move = m + 1;
                facts.Add(move is null
                    ? new PlantedFact(i, EntityIds.For(EntityType.Fact, $"Where the {obj} is hidden")!, planted, asked, question, where)
                    : new PlantedFact(i, EntityIds.For(EntityType.Fact, $"Where the {obj} is hidden")!, planted, asked, question,
                        HidingPlaces[(k + 7) % HidingPlaces.Length], move, where));
            }
            else
            {
                var door = Doors[k % Doors.Length];
                var question = variant.Paraphrased
                    ? $"I am at the {DoorDescriptions[k % DoorDescriptions.Length]}. What do I say to be let in?"
                    : $"I stand before the {door}. What was the password again?";
                facts.Add(new PlantedFact(i, EntityIds.For(EntityType.Fact, $"Password of the {door}")!, planted, asked,
                    question, Passwords[k % Passwords.Length]));
            }
        }
        if (variant.AskUnstated)
        {
            // Late in the story, on turns nothing else uses: where is something nobody ever hid?
            var seq = turnCount - 2 * NeverHidden.Length;
            for (var j = 0; j < NeverHidden.Length; j++, seq += 2)
            {
                while (plantings.Contains(seq) || facts.Any(f => f.AskedAt == seq || f.MovedAt == seq)) seq++;
                if (seq > turnCount) throw new ArgumentException("Too few turns for the never-stated questions.");
                facts.Add(new PlantedFact(factCount + j, "", seq, seq, $"Where was the {NeverHidden[j]} hidden? Someone must know.", ""));
            }
        }
        return facts;
    }

    private static (string Input, string Narrative, string Op) Plant(PlantedFact fact, string character, string place)
    {
        var k = fact.Index / 2;
        if (fact.Index % 2 == 0)
        {
            var obj = Objects[k % Objects.Length];
            var hider = Characters[(k * 13 + 1) % Characters.Length];
            var where = fact.OldAnswer ?? HidingPlaces[k % HidingPlaces.Length];
            var content = $"{hider} hid the {obj} {where}";
            return ($"I watch what {hider} does with the {obj}.",
                $"{hider} glances over a shoulder, then hides the {obj} {where}. \"Tell no one,\" {hider} whispers to {character}.",
                Op("fact", $"Where the {obj} is hidden", content, ("importance", "0.8"), ("involves", hider)));
        }
        var door = Doors[k % Doors.Length];
        var password = Passwords[k % Passwords.Length];
        return ($"I ask {character} how to get through the {door}.",
            $"{character} leans close in the shadow of {place}. \"The password for the {door} is '{password}'. Forget it after.\"",
            Op("fact", $"Password of the {door}", $"The password for the {door} is '{password}'", ("importance", "0.8"), ("involves", character)));
    }

    /// <summary>The hider moves a hidden object: the same fact entity, its new place.</summary>
    private static (string Input, string Narrative, string Op) Move(PlantedFact fact)
    {
        var k = fact.Index / 2;
        var obj = Objects[k % Objects.Length];
        var hider = Characters[(k * 13 + 1) % Characters.Length];
        return ($"I keep an eye on {hider}.",
            $"{hider} takes the {obj} from {fact.OldAnswer} and hides it {fact.Answer} instead.",
            Op("fact", $"Where the {obj} is hidden", $"{hider} moved the {obj}; it is now {fact.Answer}", ("importance", "0.8"), ("involves", hider)));
    }

    private static (string Name, string Content) Trivia(int seq)
    {
        var who = Characters[(seq * 17) % Characters.Length];
        var where = Places[(seq * 13) % Places.Length];
        var what = Activities[(seq * 19) % Activities.Length];
        var day = new[] { "Mondays", "market days", "foggy mornings", "feast days", "stormy nights" }[seq % 5];
        return ($"{who}'s habit at {where} {seq}", $"{who} is often {what} at {where} on {day}");
    }

    private static string Mood(int seq) => new[] { "wary", "cheerful", "tired", "angry", "hopeful", "quiet" }[seq % 6];

    private static string Op(string type, string name, string content, params (string Key, string Value)[] attributes)
    {
        var attrs = attributes.Length == 0 ? "" :
            ",\"attributes\":{" + string.Join(",", attributes.Select(a => $"{Json(a.Key)}:{Json(a.Value)}")) + "}";
        return $"{{\"op\":\"upsert\",\"type\":{Json(type)},\"name\":{Json(name)},\"content\":{Json(content)}{attrs}}}";
    }

    private static string Json(string text) => System.Text.Json.JsonSerializer.Serialize(text);

    public static string Describe(FidelityResult result) => string.Create(CultureInfo.InvariantCulture,
        $"fidelity: {result.Found}/{result.Asked} planted facts recalled ({result.Share:P1}) with {result.Entities} entities; " +
        $"memory block avg {result.AverageTokens:F0} tokens, max {result.MaxTokens}") +
        (result.Moved > 0 ? string.Create(CultureInfo.InvariantCulture, $"; {result.Moved} moved facts asked, old value won {result.Stale}") : "") +
        (result.Unstated > 0 ? string.Create(CultureInfo.InvariantCulture, $"; {result.Unstated} never-stated asked, a same-kind fact retrieved {result.Distracted}") : "");
}
