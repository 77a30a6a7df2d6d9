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
        if (args is ["migrate", .. var migrateArgs])
        {
            using var cts = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
            return await MigrateAsync(migrateArgs, Console.Out, Console.Error, cts.Token);
        }

        var app = HostRun.Build(() =>
        {
            var builder = CreateBuilder(args);
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

    /// <summary>
    /// The silo's builder. Its configuration is appsettings.json and appsettings.{Environment}.json (DOTNET_ENVIRONMENT or
    /// ASPNETCORE_ENVIRONMENT) from the content root, which is the working directory (or --contentRoot), then the
    /// environment and the command line.
    /// </summary>
    private static WebApplicationBuilder CreateBuilder(string[] args) => WebApplication.CreateBuilder(args);

    /// <summary>
    /// <c>migrate</c> with the configuration the silo would read from the same directory, environment and arguments
    /// (the silo's own builder, nothing started), so both use one database. Returns the exit code.
    /// </summary>
    private static async Task<int> MigrateAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        using var configuration = CreateBuilder(args).Configuration;
        return await MigrateCommand.RunAsync(configuration, output, error, cancellationToken);
    }
}
