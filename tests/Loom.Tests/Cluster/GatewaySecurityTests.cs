using Loom.Gateway.Auth;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Loom.Tests.Cluster;

/// <summary>The admin key command and the refusal to serve beyond loopback without keys.</summary>
public sealed class GatewaySecurityTests
{
    [Fact]
    public void Keys_add_prints_a_new_key_once_with_the_hash_to_configure()
    {
        var output = new StringWriter();
        var error = new StringWriter();

        var code = KeysCommand.Run(["add", "--owner", "alice"], new StringReader(""), output, error);

        Assert.Equal(KeysCommand.Success, code);
        var text = output.ToString();
        var key = text.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("loom_", StringComparison.Ordinal));
        Assert.True(key.Length >= 40, key);
        Assert.Contains("Loom__Auth__Keys__N__Owner=alice", text);
        Assert.Contains($"Loom__Auth__Keys__N__Sha256={CallerResolver.Hash(key)}", text);
        Assert.Single(text.Split(key)[1..]); // the key appears exactly once

        var second = new StringWriter();
        KeysCommand.Run(["add", "--owner", "alice"], new StringReader(""), second, error);
        Assert.DoesNotContain(key, second.ToString());
    }

    [Theory]
    [InlineData("add")]
    [InlineData("add|--owner|")]
    [InlineData("add|--owner|has space")]
    [InlineData("remove")]
    [InlineData("")]
    public void Keys_command_rejects_bad_usage(string joined)
    {
        var args = joined.Length == 0 ? [] : joined.Split('|');
        var output = new StringWriter();
        var error = new StringWriter();
        Assert.Equal(KeysCommand.Usage, KeysCommand.Run(args, new StringReader(""), output, error));
        Assert.Equal("", output.ToString());
        Assert.NotEqual("", error.ToString());
    }

    [Fact]
    public void Keys_hash_hashes_a_key_from_standard_input()
    {
        var output = new StringWriter();
        Assert.Equal(KeysCommand.Success, KeysCommand.Run(["hash"], new StringReader("secret-key\n"), output, new StringWriter()));
        Assert.Equal(CallerResolver.Hash("secret-key"), output.ToString().Trim());
    }

    [Theory]
    [InlineData("urls", "http://0.0.0.0:8080")]
    [InlineData("urls", "http://localhost:5000;http://+:80")]
    [InlineData("urls", "http://[::]:80")]
    [InlineData("urls", "http://10.1.2.3:80")]
    [InlineData("http_ports", "8080")]
    [InlineData("Kestrel:Endpoints:Web:Url", "http://*:8080")]
    public void Listening_beyond_loopback_without_keys_is_refused_at_start_up(string key, string value)
    {
        var configuration = Config(new() { [key] = value });
        var ex = Assert.Throws<OptionsValidationException>(() => ListenGuard.EnsureAuthForConfiguredAddresses(configuration));
        Assert.Contains("without API keys", ex.Message);
        Assert.Contains("keys add", ex.Message);
    }

    [Theory]
    [InlineData("urls", "http://127.0.0.1:5080")]
    [InlineData("urls", "http://localhost:5000;http://[::1]:5001")]
    [InlineData("other", "x")] // nothing configured: ASP.NET Core's default is localhost
    public void Loopback_only_needs_no_keys(string key, string value) =>
        ListenGuard.EnsureAuthForConfiguredAddresses(Config(new() { [key] = value }));

    [Fact]
    public void Any_address_is_fine_once_keys_are_configured() =>
        ListenGuard.EnsureAuthForConfiguredAddresses(Config(new()
        {
            ["urls"] = "http://0.0.0.0:8080",
            ["Loom:Auth:Keys:0:Owner"] = "alice",
            ["Loom:Auth:Keys:0:Sha256"] = CallerResolver.Hash("k"),
        }));

    private static IConfiguration Config(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
