using System.Runtime.CompilerServices;

namespace Loom.Tests;

internal static class TestHostSetup
{
    /// <summary>
    /// Tests run in parallel in one process and several fixtures block a pool thread while they wait for a child
    /// process or server; with the default minimum (one thread per core) a timer continuation can then wait for
    /// the pool's thread injection (about a second), which shows up as stalls in pacing and timeout tests.
    /// </summary>
    [ModuleInitializer]
    internal static void RaiseThreadPoolMinimum()
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 32), Math.Max(io, 32));
    }
}
