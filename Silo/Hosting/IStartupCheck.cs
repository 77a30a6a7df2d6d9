namespace Loom.Silo.Hosting;

/// <summary>
/// Something a process needs from outside before its host starts (its database schema, the cluster's Redis).
/// <see cref="HostRun"/> runs every registered check before the host starts, so a failure is reported as one line
/// (<see cref="StartupFailures"/>) before Orleans and the host would log it with stack traces. The same work done
/// again later in the host's own start (e.g. the silo lifecycle's schema gate) is the safety net for hosts started
/// another way, such as tests.
/// </summary>
public interface IStartupCheck
{
    Task CheckAsync(CancellationToken cancellationToken);
}
