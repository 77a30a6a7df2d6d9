using Loom.Errors;
using Loom.Gateway.Auth;
using Loom.Gateway.Http;
using Loom.Worlds;
using Loom.Canon;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Loom.Gateway.Endpoints;

public static class WorldEndpoints
{
    public static IEndpointRouteBuilder MapWorldEndpoints(this IEndpointRouteBuilder app)
    {
        var worlds = app.MapGroup("/api/worlds").WithTags("Worlds").RequireRoles(LoomPolicies.Author);
        worlds.AddEndpointFilter<WorldChangeFilter>();

        worlds.MapGet("/", async (HttpContext http, WorldCatalogReader catalog, CancellationToken ct) =>
            TypedResults.Ok(new ItemList<WorldInfo>(await catalog.ListAsync(http.GetCaller(), ct))));

        worlds.MapPut("/{worldId}", PublishAsync)
            .Accepts<PublishWorldBody>("application/json", "text/markdown")
            .ProducesProblem(422).ProducesProblem(400).ProducesProblem(403).ProducesProblem(404).ProducesProblem(415).ProducesProblem(429);

        worlds.MapPatch("/{worldId}", async (string worldId, WorldAccessBody body, HttpContext http, IGrainFactory grains) =>
            TypedResults.Ok(await grains.GetGrain<IWorldGrain>(worldId).SetAccess(http.GetCaller(), body.ToChange())))
            .ProducesProblem(400).ProducesProblem(403).ProducesProblem(404);

        worlds.MapGet("/{worldId}", async (string worldId, HttpContext http, IGrainFactory grains) =>
            await grains.GetGrain<IWorldGrain>(worldId).GetInfo(http.GetCaller()) is { } world
                ? TypedResults.Ok(world)
                : throw Problems.NotFound("World", worldId))
            .ProducesProblem(404);

        worlds.MapGet("/{worldId}/canon", async (string worldId, int? version, HttpContext http, IGrainFactory grains) =>
            TypedResults.Ok(await grains.GetGrain<IWorldGrain>(worldId).GetCanon(http.GetCaller(), version, includeFiles: true)))
            .ProducesProblem(404);

        worlds.MapGet("/{worldId}/diff", async (string worldId, int? from, int? to, HttpContext http, IGrainFactory grains) =>
        {
            var caller = http.GetCaller();
            var world = grains.GetGrain<IWorldGrain>(worldId);
            var info = await world.GetInfo(caller) ?? throw Problems.NotFound("World", worldId);
            var toVersion = to ?? info.LatestVersion;
            var fromVersion = from ?? Math.Max(1, toVersion - 1);
            return TypedResults.Ok(await world.Diff(caller, fromVersion, toVersion));
        }).ProducesProblem(404);

        // Character cards and lorebooks (docs/lore.md): the body is the file itself (PNG, JSON or CHARX), or one file in a form.
        worlds.MapPost("/import", async (string? worldId, HttpRequest request, IGrainFactory grains, CancellationToken ct) =>
        {
            var data = await request.ReadFileAsync(Import.ImportProblems.MaxFileBytes, "a character card or lorebook", ct);
            var result = await grains.GetGrain<IWorldPortGrain>(0).Import(request.HttpContext.GetCaller(), data, worldId);
            return TypedResults.Created($"/api/worlds/{result.WorldId}", result);
        })
            .WithImportBodyLimit()
            .Accepts<byte[]>("image/png", "application/json", "application/zip", "application/octet-stream", "multipart/form-data")
            .ProducesProblem(400).ProducesProblem(403).ProducesProblem(404).ProducesProblem(413).ProducesProblem(422).ProducesProblem(429);

        worlds.MapGet("/{worldId}/export", async (string worldId, string? format, int? version, HttpContext http, IGrainFactory grains) =>
        {
            var file = await grains.GetGrain<IWorldPortGrain>(0).Export(http.GetCaller(), worldId, version, format ?? "card-v3");
            return TypedResults.File(file.Content, file.ContentType, file.FileName);
        })
            .Produces(200, contentType: "application/json").Produces(200, contentType: "image/png")
            .ProducesProblem(400).ProducesProblem(404);

        app.MapPost("/api/canon/validate", async (HttpRequest request, IGrainFactory grains, CancellationToken ct) =>
            TypedResults.Ok(await grains.GetGrain<ICanonToolsGrain>(0).Validate((await ReadSubmissionAsync(request, "canon.md", ct)).Submission)))
            .WithTags("Worlds")
            .RequireRoles(LoomPolicies.Author)
            .ReadsOnly()
            .Accepts<PublishWorldBody>("application/json", "text/markdown")
            .ProducesProblem(400).ProducesProblem(415);

        return app;
    }

    private static async Task<Results<Created<CanonVersion>, Ok<CanonVersion>>> PublishAsync(
        string worldId, HttpRequest request, IGrainFactory grains, CancellationToken ct)
    {
        var caller = request.HttpContext.GetCaller();
        var (submission, access) = await ReadSubmissionAsync(request, $"{worldId}.md", ct);
        var result = await grains.GetGrain<IWorldGrain>(worldId).Publish(caller, submission, access);
        return result.Created
            ? TypedResults.Created($"/api/worlds/{worldId}", result.Canon)
            : TypedResults.Ok(result.Canon);
    }

    /// <summary>A JSON body <c>{ title?, files, visibility?, sharedWith? }</c> or one raw Markdown file (title and
    /// visibility from <c>?title=</c> and <c>?visibility=</c>).</summary>
    private static async Task<(CanonSubmission Submission, WorldAccessChange? Access)> ReadSubmissionAsync(
        HttpRequest request, string singleFileName, CancellationToken ct)
    {
        var mediaType = request.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        if (request.HasJsonContentType())
        {
            var body = await request.ReadFromJsonAsync<PublishWorldBody>(ct)
                ?? throw Problems.Invalid("body", "The body must be a JSON object { title?, files }.");
            if (body.Files is null || body.Files.Count == 0) throw Problems.Invalid("files", "files must name at least one Markdown file.");
            if (body.Files.Any(f => f.Value is null)) throw Problems.Invalid("files", "Every file needs Markdown text.");
            var change = new WorldAccessBody(body.Visibility, body.SharedWith).ToChange();
            return (new CanonSubmission { Title = body.Title, Files = new Dictionary<string, string>(body.Files, StringComparer.Ordinal) },
                change.IsEmpty ? null : change);
        }
        if (mediaType is "text/markdown" or "text/x-markdown" or "text/plain")
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, ct);
            if (!CanonText.TryDecodeUtf8(buffer.ToArray(), out var text, out var issue))
            {
                throw Problems.Unprocessable("invalid_canon", issue!.Message,
                    new Dictionary<string, string[]> { [$"files/{singleFileName}"] = [issue.Message] });
            }
            var visibility = request.Query["visibility"].FirstOrDefault();
            return (new CanonSubmission { Title = request.Query["title"].FirstOrDefault(), Files = new() { [singleFileName] = text } },
                string.IsNullOrEmpty(visibility) ? null : new WorldAccessBody(visibility, null).ToChange());
        }
        throw new LoomProblemException(415, "unsupported_media_type", "Unsupported media type",
            "Send canon as application/json ({ title?, files: { \"name.md\": \"markdown\" } }) or as one text/markdown file.");
    }
}
