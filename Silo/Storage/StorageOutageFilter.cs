using Loom.Errors;
using Microsoft.Extensions.Logging;

namespace Loom.Storage;

/// <summary>
/// A grain call that failed because the database is unreachable answers <see cref="Problems.StorageUnavailable"/>
/// (503 <c>storage_unavailable</c>, Retry-After) instead of the provider's exception: callers learn that the cluster
/// is up and only storage is not, and need no database driver to tell (an Npgsql exception wrapped in an
/// OrleansException used to reach the gateway as "cluster not reachable").
/// </summary>
public sealed partial class StorageOutageFilter(ILogger<StorageOutageFilter> logger) : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        try
        {
            await context.Invoke();
        }
        catch (Exception ex) when (ex is not LoomProblemException && StorageFaults.IsOutage(ex))
        {
            LogOutage(ex.GetBaseException().Message, context.InterfaceName, context.MethodName);
            throw Problems.StorageUnavailable();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storage not reachable during {Interface}.{Method}: {Reason}")]
    private partial void LogOutage(string reason, string @interface, string method);
}
