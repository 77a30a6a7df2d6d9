using Loom.Errors;
using Loom.Sessions;

namespace Loom.Gateway.Http;

/// <summary>
/// A route naming a session by an id no session can have (<see cref="SessionIds.CouldExist"/>: a 2,000-character or
/// binary "id") is answered with the session's own 404 here, after authentication: the same answer an unknown id gets,
/// without activating a grain and reading storage for a key that cannot be there.
/// </summary>
internal static class SessionRouteIds
{
    public const string RouteValue = "sessionId";

    public static IApplicationBuilder UseSessionRouteIds(this IApplicationBuilder app) => app.Use((http, next) =>
    {
        if (http.Request.RouteValues.TryGetValue(RouteValue, out var value) && value is string id && !SessionIds.CouldExist(id))
        {
            throw Problems.NotFound("Session", id);
        }
        return next(http);
    });
}
