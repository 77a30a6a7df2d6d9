using StackExchange.Redis;

namespace Loom.Silo.Hosting;

/// <summary>
/// A redis-mode silo's first connection to the membership Redis, made before the host starts, exactly as Orleans'
/// clustering makes it (the same connection string, so the same <c>abortConnect</c>): an unreachable Redis, or one that
/// refuses the password, ends the start with one line instead of four logged stack traces. With <c>abortConnect=false</c>
/// the connection does not wait for the server, here as in Orleans, and the check passes.
/// </summary>
internal sealed class ClusterRedisCheck(LoomClusterOptions cluster) : IStartupCheck
{
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        var options = ConfigurationOptions.Parse(cluster.RedisConnectionString!);
        await using var connection = await ConnectionMultiplexer.ConnectAsync(options).WaitAsync(cancellationToken);
    }
}
