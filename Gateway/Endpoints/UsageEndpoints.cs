using Loom.Budgets;
using Loom.Gateway.Auth;

namespace Loom.Gateway.Endpoints;

public static class UsageEndpoints
{
    /// <summary><c>GET /api/usage</c>: the caller's LLM tokens and cost, all time and in the current budget day/month.</summary>
    public static IEndpointRouteBuilder MapUsageEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/usage", async (HttpContext http, IGrainFactory grains) =>
                TypedResults.Ok(await grains.GetGrain<IOwnerUsageGrain>(http.GetCaller().OwnerId).Get()))
            .WithTags("Usage")
            .RequireRoles(LoomPolicies.Read)
            .ProducesProblem(401);
        return app;
    }
}
