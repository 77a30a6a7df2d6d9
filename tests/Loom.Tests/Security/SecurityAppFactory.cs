using Loom.Gateway.Auth;
using Loom.Tests.Api;

namespace Loom.Tests.Security;

/// <summary>The gateway with one configured key per role besides alice and bob (author + player by default).</summary>
public class SecurityAppFactory : LoomAppFactory
{
    public SecurityAppFactory() : this(null) { }

    /// <summary>With <paramref name="extra"/> settings besides the keys.</summary>
    protected SecurityAppFactory(IDictionary<string, string?>? extra) : base(null, Keys(extra)) { }

    public const string ViewerKey = "viewer-test-key";
    public const string PlayerKey = "player-test-key";
    public const string AuthorKey = "author-test-key";
    public const string RootKey = "admin-test-key";

    public HttpClient Viewer() => ClientFor(ViewerKey);
    public HttpClient Player() => ClientFor(PlayerKey);
    public HttpClient Author() => ClientFor(AuthorKey);
    public HttpClient Root() => ClientFor(RootKey);

    private static Dictionary<string, string?> Keys(IDictionary<string, string?>? extra)
    {
        var settings = new Dictionary<string, string?>(extra ?? new Dictionary<string, string?>());
        var index = 10; // LoomAppFactory configures the first few (alice, bob, carol, ops)
        foreach (var (owner, key, role) in new[]
                 {
                     ("vera", ViewerKey, "viewer"), ("pat", PlayerKey, "player"), ("ann", AuthorKey, "author"), ("root", RootKey, "admin"),
                 })
        {
            settings[$"Loom:Auth:Keys:{index}:Owner"] = owner;
            settings[$"Loom:Auth:Keys:{index}:Sha256"] = CallerResolver.Hash(key);
            settings[$"Loom:Auth:Keys:{index}:Roles:0"] = role;
            index++;
        }
        return settings;
    }
}
