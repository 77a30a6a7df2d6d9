using Loom.Security;

namespace Loom.Gateway.Auth;

/// <summary>The one way endpoints learn who calls them.</summary>
public static class CallerAccess
{
    /// <summary>The authenticated caller of this request (owner and roles); 401 problem when there is none.</summary>
    public static Caller GetCaller(this HttpContext http) =>
        http.RequestServices.GetRequiredService<CallerResolver>().ResolveCaller(http);
}
