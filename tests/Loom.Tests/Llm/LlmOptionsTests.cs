using Loom.Errors;
using Loom.Llm;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Loom.Tests.Llm;

public sealed class LlmOptionsTests
{
    [Fact]
    public void Defaults_to_the_offline_narrator()
    {
        using var services = LlmTestServices.Build([]);
        var factory = services.GetRequiredService<ILlmClientFactory>();

        Assert.Equal("offline", factory.DefaultProvider);
        Assert.Equal("loom-offline-1", factory.DefaultModel("offline"));
        Assert.True(factory.IsKnown("offline"));
        Assert.False(factory.IsKnown("openai"));
        Assert.False(factory.IsKnown("gpt"));
        Assert.Equal(TimeSpan.FromSeconds(120), services.Options().RequestTimeout);
    }

    [Fact]
    public void Openai_without_endpoint_or_key_fails_start_up_naming_the_keys()
    {
        using var services = LlmTestServices.Build(new() { ["Loom:Llm:Provider"] = "openai" });

        var error = Assert.Throws<OptionsValidationException>(() => services.Options());

        Assert.Contains("Loom:Llm:ApiKey", error.Message);
        Assert.Contains("OPENAI_API_KEY", error.Message);
        Assert.Contains("Loom:Llm:Endpoint", error.Message);
    }

    [Theory]
    [InlineData("Loom:Llm:Provider", "gpt5", "Loom:Llm:Provider 'gpt5' is not supported")]
    [InlineData("Loom:Llm:Temperature", "3", "Loom:Llm:Temperature")]
    [InlineData("Loom:Llm:MaxTokens", "0", "Loom:Llm:MaxTokens")]
    [InlineData("Loom:Llm:RequestTimeout", "00:00:00", "Loom:Llm:RequestTimeout")]
    [InlineData("Loom:Llm:Offline:ChunkDelayMs", "-1", "ChunkDelayMs")]
    [InlineData("Loom:Llm:Providers:anthropic:Model", "claude", "Loom:Llm:Providers:anthropic:ApiKey")]
    public void Invalid_settings_fail_start_up(string key, string value, string expected)
    {
        using var services = LlmTestServices.Build(new() { [key] = value });

        var error = Assert.Throws<OptionsValidationException>(() => services.Options());

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Validation_messages_and_settings_never_show_the_key()
    {
        using var services = LlmTestServices.Build(new()
        {
            ["Loom:Llm:Provider"] = "openai",
            ["Loom:Llm:ApiKey"] = "sk-very-secret-value",
            ["Loom:Llm:Endpoint"] = "not a url",
        });

        var error = Assert.Throws<OptionsValidationException>(() => services.Options());

        Assert.Contains("Loom:Llm:Endpoint must be an absolute http(s) URL", error.Message);
        Assert.DoesNotContain("sk-very-secret-value", error.Message);
        var settings = new LlmProviderSettings("openai", null, "sk-very-secret-value", "m");
        Assert.DoesNotContain("sk-very-secret-value", settings.ToString());
    }

    [Fact]
    public void Provider_keys_come_from_the_environment_form_too()
    {
        using var services = LlmTestServices.Build(new()
        {
            ["Loom:Llm:Provider"] = "openai",
            ["OPENAI_API_KEY"] = "sk-from-env",
            ["ANTHROPIC_API_KEY"] = "ak-from-env",
        });

        var options = services.Options();

        Assert.Equal("sk-from-env", options.Resolve("openai")!.ApiKey);
        Assert.Equal("ak-from-env", options.Resolve("anthropic")!.ApiKey);
        Assert.Equal("gpt-4o-mini", options.Resolve("openai")!.Model);
    }

    [Fact]
    public void A_keyless_openai_compatible_endpoint_is_enough()
    {
        using var services = LlmTestServices.Build(new()
        {
            ["Loom:Llm:Provider"] = "openai",
            ["Loom:Llm:Endpoint"] = "http://127.0.0.1:8000/v1",
            ["Loom:Llm:Model"] = "qwen2.5",
        });

        var factory = services.GetRequiredService<ILlmClientFactory>();

        Assert.True(factory.IsKnown("openai"));
        Assert.Equal("qwen2.5", factory.DefaultModel("openai"));
        Assert.Same(factory.GetClient("openai"), factory.GetClient("openai"));
    }

    [Theory]
    [InlineData("nope")]
    [InlineData("openai")]
    public void Unknown_or_unconfigured_providers_are_a_422(string provider)
    {
        using var services = LlmTestServices.Build([]);
        var factory = services.GetRequiredService<ILlmClientFactory>();

        var problem = Assert.Throws<LoomProblemException>(() => factory.GetClient(provider));

        Assert.Equal(422, problem.Status);
        Assert.Equal("llm_provider_unknown", problem.Code);
        Assert.Contains(provider, problem.Detail);
    }
}
