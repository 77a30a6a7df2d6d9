using Loom.Silo.Hosting;
using Loom.Silo.Telemetry;
using Loom.Storage;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;

namespace Loom.Silo;

public static class SiloProgram
{
    public static async Task<int> Main(string[] args)
    {
        // `dotnet run --project Silo -- migrate` creates or upgrades the database schema, then exits (also the Helm hook Job).
        if (args.Length > 0 && args[0] == "migrate")
        {
            var configuration = new ConfigurationBuilder()
                .AddJsonFile("appsettings.json", optional: true)
                .AddEnvironmentVariables()
                .AddCommandLine(args.Skip(1).ToArray())
                .Build();
            using var cts = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
            return await MigrateCommand.RunAsync(configuration, cts.Token);
        }

        var app = HostRun.Build(() =>
        {
            var builder = WebApplication.CreateBuilder(args);
            // Not a "Urls" in appsettings.json: it would override ASPNETCORE_URLS (the image's and the chart's port on the pod IP).
            builder.ListenOnLoopbackUnlessConfigured(OperationalEndpoints.SiloHttpPort);
            builder.AddLoomSilo();
            builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false); // nothing about the server in any answer

            return builder.Build();
        }, Console.Error, out var refused);
        if (app is null) return refused;

        // Liveness is local only; readiness means this silo is part of an answering cluster and not shutting down.
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") });
        app.MapLoomMetrics();
        return await HostRun.RunAsync(app, Console.Error) ?? 0;
    }
}
