using Loom.LoadTests.Relay;
using Loom.LoadTests.Runner;

namespace Loom.LoadTests;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        using var cts = new CancellationTokenSource();
        // The relay is this assembly in a child process of its own (--relay); it stops when the runner kills it.
        if (args is [RelayServer.Command, ..]) return await RelayServer.RunAsync(args[1..], cts.Token);
        var app = new LoadTestApp(Console.Out, Console.Error, inPlaceProgress: !Console.IsOutputRedirected);
        Console.CancelKeyPress += (_, e) =>
        {
            // First Ctrl+C stops the run gracefully (reports are still written, the child is killed).
            e.Cancel = true;
            cts.Cancel();
        };
        // On SIGTERM the runtime exits after this handler: kill the child gateway now rather than orphan it.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => app.Child?.KillNow();
        return await app.RunAsync(args, cts.Token);
    }
}
