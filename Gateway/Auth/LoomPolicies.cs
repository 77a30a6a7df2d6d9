using Loom.Security;
using Microsoft.AspNetCore.Authorization;

namespace Loom.Gateway.Auth;

/// <summary>
/// Authorization and rate-limit policy names. Roles are not a ladder, except that admin holds every role: a
/// viewer only reads, a player plays (sessions, turns, memory, timeline), an author publishes worlds.
/// </summary>
public static class LoomPolicies
{
    /// <summary>Reads: any role.</summary>
    public const string Read = "loom.read";
    /// <summary>Session, turn, memory and timeline changes; creating and importing sessions.</summary>
    public const string Play = "loom.play";
    /// <summary>Publishing canon, importing worlds.</summary>
    public const string Author = "loom.author";
    /// <summary><c>/api/admin/*</c>.</summary>
    public const string Admin = "loom.admin";

    /// <summary>Rate-limit policy of turn submission (turns per minute per owner).</summary>
    public const string Turns = "loom.turns";

    /// <summary>The roles that satisfy each authorization policy.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Roles = new Dictionary<string, string[]>
    {
        [Read] = [.. LoomRoles.All],
        [Play] = [LoomRoles.Player, LoomRoles.Admin],
        [Author] = [LoomRoles.Author, LoomRoles.Admin],
        [Admin] = [LoomRoles.Admin],
    };

    public static void Add(AuthorizationOptions options)
    {
        foreach (var (policy, roles) in Roles)
        {
            options.AddPolicy(policy, p => p.AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName).RequireRole(roles));
        }
    }

    /// <summary>For 403 details: "the 'author' role".</summary>
    public static string Describe(string policy) => policy switch
    {
        Read => "any role",
        Play => $"the '{LoomRoles.Player}' role",
        Author => $"the '{LoomRoles.Author}' role",
        Admin => $"the '{LoomRoles.Admin}' role",
        _ => $"policy '{policy}'",
    };
}
