using Loom.Gateway.Auth;
using Loom.Gateway.Http;
using Loom.Security;

namespace Loom.Gateway.Endpoints;

/// <summary>
/// <c>/api/admin/keys</c>: database API keys (admin role). The gateway makes the key and hands the store only its
/// SHA-256; the key itself appears once, in the 201 answer.
/// </summary>
public static class AdminKeyEndpoints
{
    public static IEndpointRouteBuilder MapAdminKeyEndpoints(this IEndpointRouteBuilder app)
    {
        var keys = app.MapGroup("/api/admin/keys").WithTags("Admin").RequireAuthorization(LoomPolicies.Admin);

        keys.MapPost("/", async (CreateKeyBody body, HttpContext http, IGrainFactory grains) =>
        {
            var key = KeysCommand.NewKey();
            var info = await grains.GetGrain<IApiKeyIndexGrain>(0).Create(new ApiKeyDraft
            {
                Sha256 = CallerResolver.Hash(key),
                Prefix = key[..ApiKeyRules.PrefixChars],
                Owner = body.Owner,
                Roles = body.Roles,
                Name = body.Name,
                ExpiresAt = body.ExpiresAt,
                CreatedBy = http.GetCaller().OwnerId,
            });
            return TypedResults.Created($"/api/admin/keys/{info.KeyId}", CreatedKey.From(info, key));
        }).ProducesProblem(400).ProducesProblem(409).ProducesProblem(422);

        keys.MapGet("/", async (int? limit, string? after, string? owner, IGrainFactory grains) =>
        {
            var page = await grains.GetGrain<IApiKeyIndexGrain>(0).List(new ApiKeyQuery
            {
                Limit = Paging.Limit(limit),
                After = string.IsNullOrEmpty(after) ? null : after,
                Owner = string.IsNullOrEmpty(owner) ? null : owner,
            });
            return TypedResults.Ok(new Page<ApiKeyInfo>(page.Items, page.Next));
        }).ProducesProblem(400);

        keys.MapGet("/{keyId}", async (string keyId, IGrainFactory grains) =>
            TypedResults.Ok(await grains.GetGrain<IApiKeyIndexGrain>(0).Get(keyId)))
            .ProducesProblem(404);

        keys.MapDelete("/{keyId}", async (string keyId, IGrainFactory grains) =>
        {
            await grains.GetGrain<IApiKeyIndexGrain>(0).Revoke(keyId);
            return TypedResults.NoContent();
        }).ProducesProblem(404);

        return app;
    }
}
