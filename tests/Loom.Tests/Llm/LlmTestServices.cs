using Orleans.Serialization;
using Loom.Llm;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Loom.Tests.Llm;

/// <summary>Builds the LLM services exactly as a silo does (AddLoomLlm), from in-memory configuration.</summary>
internal static class LlmTestServices
{
    public static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddLoomLlm(configuration);
        services.AddSerializer();
        services.AddLoomCaches(configuration, singleProcess: true);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    public static Dictionary<string, string?> OpenAi(Uri endpoint, string timeout = "00:00:10") => new()
    {
        ["Loom:Llm:Provider"] = "openai",
        ["Loom:Llm:Endpoint"] = endpoint.ToString(),
        ["Loom:Llm:ApiKey"] = "sk-test-secret-key",
        ["Loom:Llm:Model"] = "stub-model",
        ["Loom:Llm:RequestTimeout"] = timeout,
    };

    /// <summary>Runs the start-up validation the host would run.</summary>
    public static LlmOptions Options(this ServiceProvider provider) => provider.GetRequiredService<IOptions<LlmOptions>>().Value;

    public static LlmRequest Request(string provider, string model, string input = "I open the door.") => new()
    {
        Provider = provider,
        Model = model,
        Messages =
        [
            new() { Role = LlmRole.System, Content = "You narrate. # World\nThe city of Saltmere." },
            new() { Role = LlmRole.User, Content = input },
        ],
        SessionId = "s-test",
    };

    public static async Task<(List<LlmChunk> Chunks, Exception? Error)> Collect(IAsyncEnumerable<LlmChunk> stream)
    {
        var chunks = new List<LlmChunk>();
        try
        {
            await foreach (var chunk in stream)
            {
                chunks.Add(chunk);
            }

            return (chunks, null);
        }
        catch (Exception exception)
        {
            return (chunks, exception);
        }
    }
}
