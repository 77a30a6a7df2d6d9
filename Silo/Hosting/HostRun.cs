namespace Loom.Silo.Hosting;

/// <summary>How the gateway and silo processes run their host to the end (instead of <c>RunAsync</c>).</summary>
public static class HostRun
{
    /// <summary>
    /// Builds the host and validates its options now (every ValidateOnStart registration), so a refused setting is
    /// reported before the host would log it as a failed start with a stack trace. Null, with the exit code in
    /// <paramref name="refused"/>, when the configuration is refused.
    /// </summary>
    public static TApp? Build<TApp>(Func<TApp> build, TextWriter error, out int refused) where TApp : class, IHost
    {
        refused = 0;
        try
        {
            var app = build();
            ConfigurationErrors.ValidateNow(app.Services);
            return app;
        }
        catch (Exception ex) when (ConfigurationErrors.Describe(ex) is { } faults)
        {
            refused = ConfigurationErrors.Report(faults, error);
            return null;
        }
    }

    /// <summary>
    /// Starts the host and waits for its stop, as <c>RunAsync</c> does, with two differences. A stop asked for while the
    /// host is still starting (SIGTERM during the example seed or a slow bind) stops what had started, within the
    /// shutdown budget: <c>RunAsync</c> lets the cancelled start escape and disposes the services under a running silo,
    /// so its sessions' turns failed on disposed services and the process aborted (exit 134, seen in
    /// FailoverTests.Step4). A refused setting, or an address another process listens on (<see cref="ListenPreflight"/>),
    /// ends with <see cref="ConfigurationErrors"/>'s report; a database or Redis it cannot use (found by the
    /// <see cref="IStartupCheck"/>s before the host starts, or by the start itself) with <see cref="StartupFailures"/>'.
    /// Returns the exit code for a refusal or failure, otherwise null.
    /// </summary>
    public static async Task<int?> RunAsync(IHost host, TextWriter error)
    {
        // Read before the host runs: once it is disposed its services cannot be resolved.
        var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        try
        {
            // A taken address ends the run before anything starts; Kestrel's bind failure below stays the fallback.
            if (ListenPreflight.TakenAddress(host.Services.GetRequiredService<IConfiguration>()) is { } taken)
            {
                return ConfigurationErrors.ReportAddressInUse(taken, error);
            }

            // What the process needs from outside (its database schema, the cluster's Redis), before anything starts.
            foreach (var check in host.Services.GetServices<IStartupCheck>()) await check.CheckAsync(stopping);

            try
            {
                await host.StartAsync();
                await host.WaitForShutdownAsync();
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                await host.StopAsync();
            }
        }
        catch (Exception ex) when (ConfigurationErrors.Describe(ex) is { } faults)
        {
            return ConfigurationErrors.Report(faults, error);
        }
        catch (Exception ex) when (StartupFailures.Describe(ex) is { } failure)
        {
            // Thrown by the checks, nothing started; thrown by the start, a co-hosted silo may be up: stop it in order.
            using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await host.StopAsync(budget.Token);
            return StartupFailures.Report(failure, error);
        }
        catch (IOException bind) when (ConfigurationErrors.AddressInUse(bind))
        {
            // The co-hosted silo had started before the bind failed: stop it in order, not under disposed services.
            using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await host.StopAsync(budget.Token);
            return ConfigurationErrors.ReportAddressInUse(bind, error);
        }
        finally
        {
            if (host is IAsyncDisposable disposable) await disposable.DisposeAsync();
            else host.Dispose();
        }
        return null;
    }
}
