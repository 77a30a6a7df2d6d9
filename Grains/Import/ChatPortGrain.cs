using System.Globalization;
using Loom.Errors;
using Loom.Memory;
using Loom.Multiplayer;
using Loom.Security;
using Loom.Sessions;
using Loom.Timeline;
using Loom.Turns;
using Loom.Worlds;
using Microsoft.Extensions.Logging;

namespace Loom.Import;

/// <inheritdoc cref="IChatPortGrain"/>
/// <remarks>
/// An imported chat becomes a <see cref="SessionExport"/> of completed turns and is handed to
/// <see cref="ISessionGrain.Import"/>: the narrator is never called. Memory is built as the turns would have built
/// it with the offline narrator: the card's character at the start, then a rolling summary of every block of turns
/// that left the recent window (extractive). A chat has no memory blocks, so no entities come from the narrative.
/// </remarks>
[StatelessWorker]
public sealed class ChatPortGrain(WorldMemoryFactory memoryFactory, RollingSummarizer summarizer, CanonCache canons,
    ILogger<ChatPortGrain> logger) : Grain, IChatPortGrain
{
    private const string ImportedProvider = "sillytavern";

    public async Task<SessionInfo> Import(Caller caller, string format, byte[] data, string worldId, string newSessionId)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(data);
        CheckFormat(format);
        if (string.IsNullOrWhiteSpace(worldId)) throw Problems.Invalid("worldId", "worldId is required: the world the chat is played in.");
        if (!WorldIds.IsValid(worldId)) throw Problems.Invalid("worldId", "worldId must match [a-z0-9][a-z0-9-]{0,63}.");
        var chat = SillyTavernChat.Parse(data);

        // The world must be playable by the caller (404 like an unknown world otherwise); the session pins its latest version.
        var canon = await GrainFactory.GetGrain<IWorldGrain>(worldId).GetCanon(caller, null, includeFiles: false);
        var world = await canons.GetAsync(worldId, canon.Version);
        var export = ToExport(chat, world, memoryFactory.Create());
        var info = await GrainFactory.GetGrain<ISessionGrain>(newSessionId).Import(caller.OwnerId, export);
        logger.LogInformation("Imported a SillyTavern chat into session {SessionId} of world {WorldId} ({Turns} turns, {Hidden} hidden messages left out) for {Owner}",
            newSessionId, worldId, chat.Exchanges.Count, chat.HiddenMessages, caller.OwnerId);
        return info;
    }

    public async Task<ExportedFile> Export(string actingOwnerId, string sessionId, string format)
    {
        CheckFormat(format);
        // Through the archive: an idle session is read from the read replica when there is one (docs/operations.md).
        var export = await GrainFactory.GetGrain<ISessionArchiveGrain>(0).Export(sessionId, actingOwnerId, MemberRole.Spectator); // a chat file carries no audit log
        var world = await canons.GetAsync(export.Canon.WorldId, export.Canon.Version);
        var live = export.Turns.Where(t => t.Status == TurnStatus.Completed).OrderBy(t => t.Seq).ToList();
        var userName = live.Select(t => t.Speaker).FirstOrDefault(s => !string.IsNullOrWhiteSpace(s)) ?? "User";
        var content = SillyTavernChat.Write(userName, CharacterName(world), export.Session.CreatedAt, export.Timeline?.Opening,
            live.Select(t => new ChatExchange(t.Input, t.Narrative, t.Speaker, t.CreatedAt, t.CompletedAt,
                t.Alternatives?.Items.Select(a => a.Narrative).ToList(), (t.Alternatives?.Chosen ?? 1) - 1)));
        var slug = CardWorld.Slug(export.Session.Name, 60) is { Length: > 0 } s ? s : sessionId;
        return new ExportedFile { Content = content, ContentType = SillyTavernChat.ContentType, FileName = $"{slug}.jsonl" };
    }

    private static void CheckFormat(string format)
    {
        if (format != SillyTavernChat.Format) throw Problems.Invalid("format", $"format must be {SillyTavernChat.Format}.");
    }

    /// <summary>The card's character name, else the world's title: who speaks the narrative in SillyTavern.</summary>
    private static string CharacterName(CanonVersion world)
    {
        var card = CardWorld.ReadJsonFile(world.Files?.GetValueOrDefault(CardWorld.CardFile));
        var data = card?.Str("spec") is null ? card : card["data"] as System.Text.Json.Nodes.JsonObject;
        return data?.Str("name") is { Length: > 0 } name ? name : world.Title;
    }

    /// <summary>A reply's swipes as the turn's alternatives (the kept swipe chosen), as a session export carries them.</summary>
    private static TurnAlternativesView? Swiped(ChatExchange exchange, DateTime at) => exchange.Swipes is { Count: > 1 } swipes
        ? new TurnAlternativesView
        {
            Count = swipes.Count,
            Chosen = exchange.SwipeId + 1,
            Items = [.. swipes.Select((text, i) => new AlternativeView
            {
                Index = i + 1, Status = TurnStatus.Completed, Input = exchange.Input, Narrative = text, CompletedAt = at,
            })],
        }
        : null;

    /// <summary>The chat as a session export of <paramref name="world"/>: completed turns, memory built over them, one timeline.</summary>
    private SessionExport ToExport(ParsedChat chat, CanonVersion world, WorldMemory memory)
    {
        var now = DateTime.UtcNow;
        var createdAt = chat.CreatedAt ?? chat.Exchanges.Select(e => e.InputAt).FirstOrDefault(d => d is not null) ?? now;
        if (CardCharacter.Op(world, memory.Options) is { } character) CardCharacter.Seed(memory, character);

        var turns = new List<TurnView>(chat.Exchanges.Count);
        var texts = new List<TurnText>(chat.Exchanges.Count);
        for (var i = 0; i < chat.Exchanges.Count; i++)
        {
            var exchange = chat.Exchanges[i];
            var seq = i + 1;
            texts.Add(new TurnText(seq, exchange.Input, exchange.Narrative));
            // The summary a live turn would have written after this one (the offline narrator's, extractive).
            List<MemoryOp> applied = [];
            if (summarizer.Due(seq, memory.LastSummarizedSeq) is { } range)
            {
                var block = texts.Where(t => t.Seq >= range.FromSeq && t.Seq <= range.ToSeq).ToList();
                applied = [.. memory.Apply([summarizer.CreateOp(range, summarizer.Summarize(block))], seq)];
            }
            var at = exchange.InputAt ?? createdAt;
            turns.Add(new TurnView
            {
                TurnId = TurnIds.New(i),
                Seq = seq,
                Input = exchange.Input,
                StoryInput = exchange.Input,
                Narrative = exchange.Narrative,
                Status = TurnStatus.Completed,
                Speaker = exchange.Speaker,
                Provider = ImportedProvider,
                MemoryUpdates = applied,
                CreatedAt = at,
                StartedAt = at,
                CompletedAt = exchange.NarrativeAt ?? at,
                Warnings = exchange.Narrative.Length == 0 ? ["imported: the chat has no character reply to this input"] : [],
                Alternatives = Swiped(exchange, exchange.NarrativeAt ?? at),
            });
        }

        var lastSeq = turns.Count;
        var name = $"{chat.CharacterName ?? CharacterName(world)} — chat of {createdAt.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)}";
        return new SessionExport
        {
            Session = new SessionInfo
            {
                SessionId = SillyTavernChat.Format,
                Name = name, // cut to a session name's length by the import itself
                WorldId = world.WorldId,
                CanonVersion = world.Version,
                Status = SessionStatus.Active,
                CreatedAt = createdAt,
                UpdatedAt = now,
                Llm = new LlmRef { Provider = "", Model = "" },
            },
            Canon = new CanonRef { WorldId = world.WorldId, Version = world.Version, Hash = world.Hash },
            Turns = turns,
            Memory = SessionSeeds.ExportMemory(memory, lastSeq),
            Timeline = new ExportedTimeline
            {
                LastSeq = lastSeq,
                NextOrdinal = lastSeq,
                Segments = [new ExportedSegment { StartSeq = 1, StartOrdinal = 0 }],
                MemoryFloorSeq = Math.Min(memory.FloorSeq, lastSeq),
                Opening = chat.Opening,
            },
            Llm = WorldLlmDefaults.Apply(null, world.Metadata) ?? new LlmSettings(),
        };
    }
}
