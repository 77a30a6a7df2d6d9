using System.Text.Json;
using Loom.Conversations;
using Loom.Errors;
using Loom.Events;
using Loom.Gateway.Endpoints;
using Loom.Gateway.Auth;
using Loom.Security;
using Loom.Sessions;
using Loom.Turns;
using Loom.Worlds;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Loom.Gateway.OpenAi;

/// <summary>
/// LOOM behind any OpenAI-compatible client (docs/openai-compatible.md): <c>GET /v1/models</c> lists the worlds the key
/// may play as <c>loom/{worldId}</c>, <c>POST /v1/chat/completions</c> plays them. What a resent conversation means
/// is decided by <see cref="IConversationGrain"/>; this is only the wire format.
/// </summary>
public static class OpenAiEndpoints
{
    public const string SessionHeader = "X-Loom-Session";
    /// <summary>Names an existing session by id (one the key's owner owns or joined) instead of by a client-chosen name.</summary>
    public const string SessionIdHeader = "X-Loom-Session-Id";
    public const string ModelPrefix = "loom/";
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(120);

    public static IEndpointRouteBuilder MapOpenAiEndpoints(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1").WithTags("OpenAI-compatible").RequireRoles(LoomPolicies.Play);

        v1.MapGet("/models", async (HttpContext http, WorldCatalogReader catalog) =>
            TypedResults.Ok(new ModelList(await PlayableAsync(http.GetCaller(), catalog))));

        v1.MapGet("/models/{**modelId}", async (string modelId, HttpContext http, WorldCatalogReader catalog) =>
            (await PlayableAsync(http.GetCaller(), catalog)).FirstOrDefault(m => m.Id == modelId) is { } model
                ? TypedResults.Ok(model)
                : throw UnknownModel(modelId))
            .ProducesProblem(404);

        v1.MapPost("/chat/completions", CompleteAsync)
            .RequireRateLimiting(LoomPolicies.Turns)
            .Produces<ChatCompletion>()
            .Produces(200, contentType: "text/event-stream")
            .ProducesProblem(400).ProducesProblem(404).ProducesProblem(409).ProducesProblem(429);
        return app;
    }

    private static async Task<List<ModelEntry>> PlayableAsync(Caller caller, WorldCatalogReader catalog)
    {
        // A viewer key sees worlds but plays none: it is offered no model.
        if (!caller.IsInRole(LoomRoles.Player) && !caller.IsAdmin) return [];
        var worlds = await catalog.ListAsync(caller);
        return worlds
            .Select(w => new ModelEntry(ModelPrefix + w.WorldId, ChatCompletion.UnixTime(w.UpdatedAt), w.Owner))
            .ToList();
    }

    private static async Task<Results<Ok<ChatCompletion>, EmptyHttpResult>> CompleteAsync(
        ChatCompletionBody body, HttpContext http, IGrainFactory grains, IOptions<JsonOptions> json, SubmitDeadline deadline,
        CancellationToken cancellationToken)
    {
        var caller = http.GetCaller();
        var request = ToRequest(body, http, caller) with { NotAfter = deadline.NotAfter() };
        var conversation = grains.GetGrain<IConversationGrain>(request.ConversationKey);
        var target = await conversation.Open(request);
        var session = grains.GetGrain<ISessionGrain>(target.SessionId);
        var acting = target.ActingOwnerId; // a member reads the shared session under its owner's authority, as on REST
        http.Response.Headers[SessionHeader] = target.SessionId;

        if (body.Stream != true)
        {
            var step = await conversation.Continue(request);
            Describe(http, step);
            var turn = await session.WaitForTurn(acting, step.TurnId, WaitLimit);
            if (!step.IsAnswer(turn))
            {
                throw new LoomProblemException(502, "turn_failed", "Narration failed",
                    "The narrator failed to regenerate this reply; the previous reply is kept. Send again to retry.");
            }
            return TypedResults.Ok(ChatCompletion.From(Finished(turn), body.Model!));
        }

        // Subscribe before the turn is queued, so no chunk of it is missed.
        await using var events = session.Watch(acting, null, cancellationToken).GetAsyncEnumerator(cancellationToken);
        await events.MoveNextAsync();
        var streamed = await conversation.Continue(request);
        Describe(http, streamed);
        await StreamAsync(http, session, acting, streamed.TurnId, body, events, json.Value.SerializerOptions, cancellationToken);
        return TypedResults.Empty;
    }

    private static async Task StreamAsync(HttpContext http, ISessionGrain session, string owner, string turnId, ChatCompletionBody body,
        IAsyncEnumerator<SessionEvent> events, JsonSerializerOptions json, CancellationToken cancellationToken)
    {
        var response = http.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        var id = "chatcmpl-" + turnId; // as ChatCompletion.CompletionId
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var model = body.Model!;
        var sent = new System.Text.StringBuilder();

        Task Send(object payload) => response.WriteAsync($"data: {JsonSerializer.Serialize(payload, json)}\n\n", cancellationToken);
        Task Chunk(string? role, string? content, string? finish) =>
            Send(new ChatCompletionChunk(id, created, model, [new ChunkChoice(0, new ChunkDelta(role, content), finish)]));

        await Chunk("assistant", "", null);
        await response.Body.FlushAsync(cancellationToken);

        TurnView? final = null;
        try
        {
            while (final is null && await events.MoveNextAsync())
            {
                var ev = events.Current;
                if (ev.Type == SessionEventTypes.Heartbeat) await response.WriteAsync(": keepalive\n\n", cancellationToken);
                else if (ev.TurnId != turnId && ev.Turn?.TurnId != turnId) continue;
                else if (ev.Type == SessionEventTypes.TurnDelta && ev.Text is { Length: > 0 } text)
                {
                    sent.Append(text);
                    await Chunk(null, text, null);
                }
                else if (sent.Length == 0 && ev.Turn is { Status: TurnStatus.Running, Narrative.Length: > 0 } running)
                {
                    // Attached to a turn already narrating (the same request sent again): the text so far comes first,
                    // then the chunks published after it.
                    sent.Append(running.Narrative);
                    await Chunk(null, running.Narrative, null);
                }
                else if (ev.Turn is { } turn && turn.Status.IsFinished()) final = turn;
                await response.Body.FlushAsync(cancellationToken);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The event stream broke (the session moved): the stored turn still tells how it ended.
        }
        final ??= await session.WaitForTurn(owner, turnId, WaitLimit);

        if (final.Status != TurnStatus.Completed)
        {
            await Send(OpenAiErrors.From(Http.ProblemMapping.Map(TurnProblem(final)).Problem));
        }
        else
        {
            // Deltas are the narrative as it streamed; whatever the stream missed (a resumed request, a moved session) follows now.
            if (final.Narrative.StartsWith(sent.ToString(), StringComparison.Ordinal) && final.Narrative.Length > sent.Length)
            {
                await Chunk(null, final.Narrative[sent.Length..], null);
            }
            await Chunk(null, null, "stop");
            if (body.StreamOptions?.IncludeUsage == true)
            {
                await Send(new ChatCompletionChunk(id, created, model, [], CompletionUsage.From(final.Usage)));
            }
        }
        await response.WriteAsync("data: [DONE]\n\n", cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    /// <summary>The completed turn, or the reason it is not as an error the client understands.</summary>
    private static TurnView Finished(TurnView turn) => turn.Status == TurnStatus.Completed ? turn : throw TurnProblem(turn);

    private static LoomProblemException TurnProblem(TurnView turn) => turn.Status switch
    {
        TurnStatus.Failed => new LoomProblemException(502, turn.Error?.Code ?? "turn_failed", "Narration failed",
            $"The narrator failed this turn ({turn.Error?.Message ?? "no detail"}); nothing was added to the story. Send again to retry."),
        TurnStatus.Retconned => Problems.Conflict("turn_retconned", "The turn was rolled back before it finished."),
        _ => new LoomProblemException(504, "turn_timeout", "Narration still running",
            $"The turn is still {turn.Status.ToString().ToLowerInvariant()} after {WaitLimit.TotalSeconds:0} s; send the same conversation again to pick it up."),
    };

    private static void Describe(HttpContext http, ConversationStep step)
    {
        http.Response.Headers["X-Loom-Turn"] = step.TurnId;
        http.Response.Headers["X-Loom-Action"] = step.Action.ToString().ToLowerInvariant();
    }

    /// <summary>Checks the wire request and flattens it; every refusal names the OpenAI parameter.</summary>
    private static ConversationRequest ToRequest(ChatCompletionBody body, HttpContext http, Caller caller)
    {
        if (string.IsNullOrEmpty(body.Model)) throw Problems.Invalid("model", "model is required: one of GET /v1/models, e.g. loom/ember-vale.");
        if (!body.Model.StartsWith(ModelPrefix, StringComparison.Ordinal) || !WorldIds.IsValid(body.Model[ModelPrefix.Length..]))
        {
            throw UnknownModel(body.Model);
        }
        if (body.N is not (null or 1)) throw Problems.Invalid("n", "n must be 1: a story has one next turn.");
        if (body.Messages is not { Count: > 0 }) throw Problems.Invalid("messages", "messages must hold at least one user message.");

        // An existing session by id (e.g. a shared one the caller joined) wins over a name.
        var sessionId = http.Request.Headers[SessionIdHeader].FirstOrDefault();
        if (sessionId is not null && (sessionId.Length is 0 or > ConversationIds.MaxNameLength || sessionId.Any(c => char.IsControl(c) || char.IsWhiteSpace(c))))
        {
            throw Problems.Invalid(SessionIdHeader, $"{SessionIdHeader} must be the id of a session you own or joined (1 to {ConversationIds.MaxNameLength} characters, no spaces).");
        }
        var name = sessionId ?? http.Request.Headers[SessionHeader].FirstOrDefault() ?? body.User;
        if (string.IsNullOrWhiteSpace(name))
        {
            throw Problems.Invalid("user", $"Name the session: send the 'user' field or an {SessionHeader} header (any name; created on first use), or {SessionIdHeader} for an existing session.");
        }
        if (name.Length > ConversationIds.MaxNameLength || name.Any(char.IsControl))
        {
            throw Problems.Invalid("user", $"The session name must be 1 to {ConversationIds.MaxNameLength} characters without control characters.");
        }

        var messages = new List<ConversationMessage>(body.Messages.Count);
        for (var i = 0; i < body.Messages.Count; i++)
        {
            var m = body.Messages[i];
            if (m?.Role is not ("system" or "developer" or "user" or "assistant"))
            {
                throw Problems.Invalid($"messages[{i}].role", $"messages[{i}].role must be system, developer, user or assistant (LOOM has no tools).");
            }
            messages.Add(new ConversationMessage { Role = m.Role, Content = TextOf(m.Content, i) });
        }
        return new ConversationRequest { Caller = caller, SessionName = name, SessionId = sessionId, WorldId = body.Model[ModelPrefix.Length..], Messages = messages };
    }

    /// <summary>A string, or an array of parts of which only text parts are accepted.</summary>
    private static string TextOf(JsonElement content, int index)
    {
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                return content.GetString()!;
            case JsonValueKind.Null or JsonValueKind.Undefined:
                return "";
            case JsonValueKind.Array:
                var text = new System.Text.StringBuilder();
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String
                        || type.GetString() != "text" || !part.TryGetProperty("text", out var value) || value.ValueKind != JsonValueKind.String)
                    {
                        throw Problems.Invalid($"messages[{index}].content", $"messages[{index}].content may hold only text parts ({{\"type\":\"text\",\"text\":...}}).");
                    }
                    text.Append(value.GetString());
                }
                return text.ToString();
            default:
                throw Problems.Invalid($"messages[{index}].content", $"messages[{index}].content must be a string or an array of text parts.");
        }
    }

    private static LoomProblemException UnknownModel(string model) =>
        new(404, "model_not_found", "Model not found",
            $"The model '{Problems.QuoteId(model)}' does not exist or you cannot play it: models are loom/{{worldId}}, listed by GET /v1/models.");
}
