using Microsoft.Extensions.Options;

namespace Loom.Caching;

/// <summary>
/// A malformed Redis connection string fails start-up, as the cluster's does: naming the key and the parser's reason, never
/// the password (<see cref="RedisConnectionStrings"/>), instead of failing on the cache's first use.
/// </summary>
internal sealed class LoomCacheOptionsValidator : IValidateOptions<LoomCacheOptions>
{
    public ValidateOptionsResult Validate(string? name, LoomCacheOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Redis)) return ValidateOptionsResult.Success;
        return RedisConnectionStrings.Fault(options.Redis) is { } fault
            ? ValidateOptionsResult.Fail($"{LoomCacheOptions.Section}:Redis is not a StackExchange.Redis connection string ('host:port,password=...'): {fault}")
            : ValidateOptionsResult.Success;
    }
}
