using Loom.Gateway.Auth;
using Loom.Gateway.Limits;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Loom.Tests.Security;

/// <summary>Bad auth and limit settings stop the gateway at start-up with a message naming the key; the keys command takes roles.</summary>
public sealed class SecurityOptionsTests
{
    [Theory]
    [InlineData("Loom:Auth:Keys:0:Roles:0", "superuser", "unknown role 'superuser'")]
    [InlineData("Loom:Auth:Keys:0:Sha256", "not-a-hash", "Loom:Auth:Keys:0:Sha256")]
    [InlineData("Loom:Auth:Keys:0:Owner", "has space", "Loom:Auth:Keys:0:Owner")]
    [InlineData("Loom:Auth:Keys:0:Owner", "system", "Loom:Auth:Keys:0:Owner must be 1-64 characters: letters, digits, '.', '_', '-', '@', and not the reserved 'system'")]
    [InlineData("Loom:Auth:Keys:0:Owner", "SYSTEM", "Loom:Auth:Keys:0:Owner")]
    [InlineData("Loom:Auth:LocalUser", "system", "Loom:Auth:LocalUser")]
    [InlineData("Loom:Auth:KeyCacheSeconds", "-1", "KeyCacheSeconds")]
    public void Bad_auth_settings_are_refused(string key, string value, string message)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Loom:Auth:Keys:0:Owner"] = "alice",
            ["Loom:Auth:Keys:0:Sha256"] = CallerResolver.Hash("k"),
            [key] = value,
        };
        var ex = Assert.Throws<OptionsValidationException>(() => Resolve<AuthOptions>(settings));
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public async Task The_same_key_configured_twice_is_refused_naming_both_entries()
    {
        // The same hash in upper case: both entries are valid alone, but they are one key.
        var hash = CallerResolver.Hash("k");
        var settings = new Dictionary<string, string?>
        {
            ["Loom:Auth:Keys:0:Owner"] = "alice",
            ["Loom:Auth:Keys:0:Sha256"] = hash,
            ["Loom:Auth:Keys:1:Owner"] = "bob",
            ["Loom:Auth:Keys:1:Sha256"] = CallerResolver.Hash("other"),
            ["Loom:Auth:Keys:2:Owner"] = "carol",
            ["Loom:Auth:Keys:2:Sha256"] = " " + hash.ToUpperInvariant(),
        };
        var ex = Assert.Throws<OptionsValidationException>(() => Resolve<AuthOptions>(settings));
        var failure = Assert.Single(ex.Failures);
        Assert.Contains("Loom:Auth:Keys:0:Sha256 and Loom:Auth:Keys:2:Sha256 are the same key", failure);

        // Distinct keys still pass, and the lookup built from them answers for each.
        settings["Loom:Auth:Keys:2:Sha256"] = CallerResolver.Hash("third");
        var lookup = new ConfigApiKeyLookup(Options.Create(Resolve<AuthOptions>(settings)));
        Assert.Equal("alice", (await lookup.FindAsync(hash, CancellationToken.None))?.OwnerId);
        Assert.Equal("carol", (await lookup.FindAsync(CallerResolver.Hash("third"), CancellationToken.None))?.OwnerId);
    }

    [Theory]
    [InlineData("Loom:Limits:RequestsPerSecond", "-1")]
    [InlineData("Loom:Limits:RequestBurst", "-5")]
    [InlineData("Loom:Limits:TurnsPerMinute", "-1")]
    [InlineData("Loom:Limits:FailedAuthPerMinute", "-1")]
    [InlineData("Loom:Limits:FailedAuthBurst", "-3")]
    public void Bad_limits_are_refused(string key, string value)
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Resolve<LimitOptions>(new() { [key] = value }));
        Assert.Contains($"The field {key.Split(':')[^1]} must be between 0 and", ex.Message);
    }

    [Fact]
    public void Defaults_are_valid_and_leave_turns_unlimited()
    {
        var limits = Resolve<LimitOptions>([]);
        Assert.Equal(0, limits.TurnsPerMinute);
        Assert.True(limits.RequestsPerSecond >= 1000);
        Assert.Equal(60, limits.FailedAuthPerMinute);
        Assert.Equal(2, Resolve<AuthOptions>([]).KeyCacheSeconds);
    }

    [Fact]
    public void Keys_add_prints_the_roles_to_configure()
    {
        var output = new StringWriter();
        var code = KeysCommand.Run(["add", "--owner", "ops", "--roles", "admin,viewer"], new StringReader(""), output, new StringWriter());
        Assert.Equal(KeysCommand.Success, code);
        Assert.Contains("Loom__Auth__Keys__N__Roles__0=admin", output.ToString());
        Assert.Contains("Loom__Auth__Keys__N__Roles__1=viewer", output.ToString());

        var error = new StringWriter();
        Assert.Equal(KeysCommand.Usage, KeysCommand.Run(["add", "--owner", "ops", "--roles", "root"], new StringReader(""), new StringWriter(), error));
        Assert.Contains("unknown role 'root'", error.ToString());
    }

    private static T Resolve<T>(Dictionary<string, string?> settings) where T : class
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddLoomAuth(configuration);
        services.AddLoomRateLimits(configuration);
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<T>>().Value;
    }
}
