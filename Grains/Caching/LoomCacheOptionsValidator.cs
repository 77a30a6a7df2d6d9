using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Loom.Caching;

/// <summary>A malformed Redis connection string fails start-up, naming the key (never echoing the value: it may hold a password).</summary>
internal sealed class LoomCacheOptionsValidator : IValidateOptions<LoomCacheOptions>
{
    public ValidateOptionsResult Validate(string? name, LoomCacheOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Redis)) return ValidateOptionsResult.Success;
        try
        {
            var parsed = ConfigurationOptions.Parse(options.Redis);
            return parsed.EndPoints.Count > 0
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail($"{LoomCacheOptions.Section}:Redis names no Redis endpoint (expected e.g. \"redis:6379\").");
        }
        catch (ArgumentException)
        {
            return ValidateOptionsResult.Fail($"{LoomCacheOptions.Section}:Redis is not a valid StackExchange.Redis connection string.");
        }
    }
}
