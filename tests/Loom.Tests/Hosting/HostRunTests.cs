using Loom.Silo.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Loom.Tests.Hosting;

/// <summary>
/// How the gateway and silo processes run their host: a stop asked for while the host is still starting (SIGTERM
/// during a slow start step) stops the services that had started and ends normally, instead of escaping as an
/// unhandled cancellation with the started services disposed while still running.
/// </summary>
public sealed class HostRunTests
{
    [Fact]
    public async Task A_stop_during_start_stops_what_had_started_and_ends_normally()
    {
        var builder = Host.CreateApplicationBuilder();
        var started = new StartedService();
        builder.Services.AddHostedService(_ => started);       // starts first, like the silo
        builder.Services.AddHostedService<StopsDuringStart>(); // then a start step that is still running at the stop
        var host = builder.Build();

        var exit = await HostRun.RunAsync(host, TextWriter.Null).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Null(exit);
        Assert.True(started.Started);
        Assert.True(started.StoppedBeforeDisposal, "the started service was not stopped before the host was disposed");
    }

    [Fact]
    public async Task A_host_that_started_runs_until_its_stop_then_stops_its_services()
    {
        var builder = Host.CreateApplicationBuilder();
        var started = new StartedService();
        builder.Services.AddHostedService(_ => started);
        var host = builder.Build();
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        lifetime.ApplicationStarted.Register(lifetime.StopApplication);

        var exit = await HostRun.RunAsync(host, TextWriter.Null).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Null(exit);
        Assert.True(started.StoppedBeforeDisposal);
    }

    [Fact]
    public async Task A_bind_that_finds_its_address_taken_stops_what_had_started_and_says_which_address()
    {
        // The gateway's preflight misses an address taken between its check and Kestrel's bind: this path reports it.
        var builder = Host.CreateApplicationBuilder();
        var started = new StartedService();
        builder.Services.AddHostedService(_ => started); // the silo, started before the web server binds
        builder.Services.AddHostedService<AddressTaken>();
        var host = builder.Build();
        var error = new StringWriter();

        var exit = await HostRun.RunAsync(host, error).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(ConfigurationErrors.ExitCode, exit);
        Assert.True(started.StoppedBeforeDisposal, "the started service was not stopped before the host was disposed");
        Assert.StartsWith("LOOM cannot start: Failed to bind to address http://127.0.0.1:5080: address already in use.", error.ToString());
    }

    private sealed class StartedService : IHostedService, IDisposable
    {
        private bool _disposed;
        public bool Started { get; private set; }
        public bool StoppedBeforeDisposal { get; private set; }

        public Task StartAsync(CancellationToken cancellationToken)
        {
            Started = true;
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            StoppedBeforeDisposal = !_disposed;
            return Task.CompletedTask;
        }

        public void Dispose() => _disposed = true;
    }

    /// <summary>Fails its start as Kestrel does when another process listens on its address.</summary>
    private sealed class AddressTaken : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) =>
            throw new IOException("Failed to bind to address http://127.0.0.1:5080: address already in use.",
                new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.AddressAlreadyInUse));

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Asks for the stop (as SIGTERM does) and then waits, as a slow start step would, until the start is cancelled.</summary>
    private sealed class StopsDuringStart(IHostApplicationLifetime lifetime) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            lifetime.StopApplication();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
