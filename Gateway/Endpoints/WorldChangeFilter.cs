using Loom.Worlds;

namespace Loom.Gateway.Endpoints;

/// <summary>
/// After any request that may change a world (everything but GET and HEAD under /api/worlds), this gateway drops
/// its cached world lists itself, so the caller's next list through it never races the catalog's announcement.
/// </summary>
internal sealed class WorldChangeFilter(WorldCatalogReader catalog) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        finally
        {
            var method = context.HttpContext.Request.Method;
            if (!HttpMethods.IsGet(method) && !HttpMethods.IsHead(method)) await catalog.ChangedHereAsync();
        }
    }
}
