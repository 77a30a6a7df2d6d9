using Loom.LoadTests.Monitoring;
using Loom.LoadTests.Target;

namespace Loom.Tests.LoadTests;

public class MonitoringTests
{
    private const string Scrape = """
        # HELP loom_sessions_active Session grains active on this process.
        # TYPE loom_sessions_active gauge
        loom_sessions_active{otel_scope_name="Loom"} 1200
        loom_sessions_active_total 99
        loom_sessions_active{otel_scope_name="Loom",silo="b"} 34 1733212800000
        dotnet_gc_last_collection_heap_size_bytes{gc_heap_generation="gen0"} 1.5e6
        dotnet_gc_last_collection_heap_size_bytes{gc_heap_generation="loh"} 500000
        """;

    [Fact]
    public void Prometheus_samples_of_a_metric_are_summed_over_labels_only()
    {
        Assert.Equal(1234, PrometheusText.Sum(Scrape, "loom_sessions_active"));
        Assert.Equal(2_000_000, PrometheusText.Sum(Scrape, "dotnet_gc_last_collection_heap_size_bytes"));
        Assert.Null(PrometheusText.Sum(Scrape, "loom_turns_processed"));
    }

    [Fact]
    public async Task Gauge_wait_stops_when_the_gauge_falls()
    {
        var readings = new Queue<double?>([1000, 400, 5, 0]);

        var r = await GaugeWait.UntilAtMostAsync(_ => Task.FromResult(readings.Dequeue()), 10, TimeSpan.FromMinutes(1), TimeSpan.Zero, CancellationToken.None);

        Assert.True(r.Reached);
        Assert.Equal(5, r.LastValue);
        Assert.Equal(3, r.Polls);
    }

    [Fact]
    public async Task Gauge_wait_gives_up_at_its_deadline()
    {
        var polls = 0;

        var r = await GaugeWait.UntilAtMostAsync(_ => { polls++; return Task.FromResult<double?>(1000); }, 10, TimeSpan.Zero, TimeSpan.FromHours(1), CancellationToken.None);

        Assert.False(r.Reached);
        Assert.Equal(1000, r.LastValue);
        Assert.Equal(1, polls); // a zero deadline reads once and never sleeps for the hour-long poll
    }

    [Fact]
    public async Task Gauge_wait_does_not_wait_for_a_gauge_it_cannot_read()
    {
        var r = await GaugeWait.UntilAtMostAsync(_ => Task.FromResult<double?>(null), 10, TimeSpan.FromHours(1), TimeSpan.FromHours(1), CancellationToken.None);

        Assert.False(r.Reached);
        Assert.Null(r.LastValue);
        Assert.Equal(1, r.Polls);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5080", "dotnet", "Loom.Gateway.dll", "--urls", "http://127.0.0.1:5080")]
    [InlineData("http://127.0.0.1:7000", "dotnet", "Loom.Silo.dll", "--urls=http://127.0.0.1:7000;http://127.0.0.1:7001")]
    [InlineData("http://127.0.0.1:8080", "dotnet", "x.dll", "--urls", "http://*:8080")]
    [InlineData(null, "dotnet", "Loom.Silo.dll", "migrate")]
    public void A_process_url_comes_from_its_urls_argument(string? expected, params string[] args) =>
        Assert.Equal(expected is null ? null : new Uri(expected), ProcessUrls.FromCommandLine(args));

    [Fact]
    public void Ports_for_child_processes_are_never_handed_out_twice_and_stay_out_of_the_ephemeral_range()
    {
        var ports = Enumerable.Range(0, 50).Select(_ => Loopback.FreePort()).ToArray();

        Assert.Equal(ports.Length, ports.Distinct().Count());
        Assert.All(ports, p => Assert.InRange(p, 12_000, 19_999));
    }

    [Fact]
    public void A_local_cluster_folder_names_the_gateway_and_every_silo()
    {
        var dir = Path.Combine(Path.GetTempPath(), "loom-lc-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            Assert.Throws<FileNotFoundException>(() => LocalCluster.Read(dir)); // no gateway.pid
            // This test process stands in for the gateway: it runs, but has no --urls, which the reader must say.
            File.WriteAllText(Path.Combine(dir, "gateway.pid"), Environment.ProcessId + "\n");
            File.WriteAllText(Path.Combine(dir, "silo-0.pid"), "4242\n");
            var e = Assert.Throws<InvalidOperationException>(() => LocalCluster.Read(dir));
            Assert.Contains("--urls", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
        Assert.Throws<FileNotFoundException>(() => LocalCluster.Read(dir));
    }

    [Fact]
    public void A_snapshot_difference_gives_the_phase_counts_mean_and_quantile_as_promql_would()
    {
        // Two processes; the histogram grew by 10 observations: 5 in (0, 0.1], 4 in (0.1, 0.25], 1 above 0.25.
        var before = MetricsSnapshot.Parse(
        [
            "loom_storage_operations_total{operation=\"read\"} 10\nloom_storage_operations_total{operation=\"transaction\"} 4\n"
            + "s_bucket{stage=\"a\",le=\"0.1\"} 1\ns_bucket{stage=\"a\",le=\"0.25\"} 1\ns_bucket{stage=\"a\",le=\"+Inf\"} 1\ns_sum{stage=\"a\"} 0.05\ns_count{stage=\"a\"} 1\n",
            "loom_storage_operations_total{operation=\"read\"} 1\n",
        ]);
        var after = MetricsSnapshot.Parse(
        [
            "loom_storage_operations_total{operation=\"read\"} 20\nloom_storage_operations_total{operation=\"transaction\"} 10\n"
            + "s_bucket{stage=\"a\",le=\"0.1\"} 6\ns_bucket{stage=\"a\",le=\"0.25\"} 10\ns_bucket{stage=\"a\",le=\"+Inf\"} 11\ns_sum{stage=\"a\"} 1.55\ns_count{stage=\"a\"} 11\n"
            + "s_bucket{stage=\"b\",le=\"0.1\"} 99\ns_bucket{stage=\"b\",le=\"+Inf\"} 99\n",
            "loom_storage_operations_total{operation=\"read\"} 3\n",
        ]);

        Assert.Equal(18, MetricsSnapshot.Delta(before, after, "loom_storage_operations_total"));
        Assert.Equal(12, MetricsSnapshot.Delta(before, after, "loom_storage_operations_total", "operation=\"read\""));
        Assert.Equal(0.15, MetricsSnapshot.Mean(before, after, "s", "stage=\"a\""), 6);
        // Median: rank 5 of 10 is the top of the first bucket; p70: rank 7 is 2/4 of the way through (0.1, 0.25].
        Assert.Equal(0.1, MetricsSnapshot.Quantile(before, after, "s", 0.5, "stage=\"a\""), 6);
        Assert.Equal(0.175, MetricsSnapshot.Quantile(before, after, "s", 0.7, "stage=\"a\""), 6);
        // Above the last finite bucket, the answer is that bucket's bound (histogram_quantile's rule).
        Assert.Equal(0.25, MetricsSnapshot.Quantile(before, after, "s", 0.99, "stage=\"a\""), 6);
        Assert.True(double.IsNaN(MetricsSnapshot.Quantile(before, after, "missing", 0.5)));
    }

    [Fact]
    public void A_local_cluster_started_with_the_fake_llm_names_its_port()
    {
        var dir = Path.Combine(Path.GetTempPath(), "loom-lc-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        // A process with a gateway's command line (--urls) stands in for the gateway.
        using var standIn = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/bin/sh")
        {
            ArgumentList = { "-c", "sleep 60; true", "gateway", "--urls", "http://127.0.0.1:15999" },
        })!;
        try
        {
            File.WriteAllText(Path.Combine(dir, "gateway.pid"), standIn.Id + "\n");
            Assert.Null(LocalCluster.Read(dir).FakeLlmPort); // offline narrator: no port

            File.WriteAllText(Path.Combine(dir, "fake-llm-port"), "38317\n");
            var cluster = LocalCluster.Read(dir);
            Assert.Equal(38317, cluster.FakeLlmPort);
            Assert.Equal(new Uri("http://127.0.0.1:15999"), cluster.Gateway);
        }
        finally
        {
            standIn.Kill();
            Directory.Delete(dir, recursive: true);
        }
    }
}
