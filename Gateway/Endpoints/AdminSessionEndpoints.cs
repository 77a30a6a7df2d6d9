using Loom.Errors;
using Loom.Gateway.Auth;
using Loom.Gateway.Http;
using Loom.Sessions;

namespace Loom.Gateway.Endpoints;

/// <summary>
/// Support reads for admins: session metadata by owner or by id. The grains audit every read in the session's
/// own audit log (who, when, <c>?reason=</c>), so no admin read is silent; idle sessions are read from the read
/// replica when one is configured.
/// </summary>
public static class AdminSessionEndpoints
{
    public static IEndpointRouteBuilder MapAdminSessionEndpoints(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/api/admin/sessions").WithTags("Admin").RequireAuthorization(LoomPolicies.Admin);

        admin.MapGet("/", async (string? owner, string? reason, int? limit, string? after, HttpContext http, IGrainFactory grains) =>
        {
            if (string.IsNullOrWhiteSpace(owner)) throw Problems.Invalid("owner", "owner is required: the owner id whose sessions to list.");
            var page = await grains.GetGrain<IOwnerGrain>(owner.Trim()).ReadForSupport(http.GetCaller(), reason, Paging.Limit(limit), after);
            return TypedResults.Ok(new Page<AdminSessionView>(page.Items, page.Next));
        }).ProducesProblem(400).ProducesProblem(403);

        admin.MapGet("/{sessionId}", async (string sessionId, string? reason, HttpContext http, IGrainFactory grains) =>
            TypedResults.Ok(await grains.GetGrain<ISessionArchiveGrain>(0).ReadForSupport(sessionId, http.GetCaller(), reason)))
            .ProducesProblem(400).ProducesProblem(403).ProducesProblem(404);

        return app;
    }
}
