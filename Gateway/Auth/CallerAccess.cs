using System.Security.Claims;
using Loom.Errors;
using Loom.Security;

namespace Loom.Gateway.Auth;

/// <summary>The one way endpoints learn who calls them.</summary>
public static class CallerAccess
{
    /// <summary>The authenticated caller of this request (owner and roles); 401 problem when there is none.</summary>
    public static Caller GetCaller(this HttpContext http)
    {
        // Authorization already refused unauthenticated requests on every endpoint that is not explicitly anonymous.
        if (http.User.Identity is not { IsAuthenticated: true, Name: { Length: > 0 } owner })
        {
            throw new LoomProblemException(401, "unauthorized", "Unauthorized", "An API key is required: send 'Authorization: Bearer <api-key>'.");
        }
        return new Caller { OwnerId = owner, Roles = http.User.FindAll(ClaimTypes.Role).Select(c => c.Value).ToArray() };
    }
}
