using System.Text;
using Loom.LoadTests.Scenarios;

namespace Loom.LoadTests.Cli;

public static class HelpText
{
    public static string Render()
    {
        var sb = new StringBuilder();
        sb.AppendLine("LOOM load tests: scenarios against the HTTP API of a LOOM gateway.");
        sb.AppendLine();
        sb.AppendLine("Usage: dotnet run --project LoadTests -c Release -- <scenario|all>... [options]");
        sb.AppendLine();
        sb.AppendLine("Scenarios ('all' runs every one except smoke, multiplayer and roll):");
        foreach (var s in ScenarioCatalog.Scenarios) sb.AppendLine($"  {s.Name,-16} {s.Description}");
        sb.AppendLine();
        sb.AppendLine("Options:");
        sb.AppendLine("  --target URL        use a running gateway (loopback only) instead of starting one");
        sb.AppendLine("  --target-pid N      with --target: a LOOM process to watch (CPU, RSS, /metrics); repeat for every silo");
        sb.AppendLine("  --cluster-dir DIR   a cluster from scripts/local-cluster.sh (default dir /tmp/loom-local-cluster): gateway URL,");
        sb.AppendLine("                      API key and every LOOM pid (gateway + silos) are read from it");
        sb.AppendLine("  --gateway-env K=V   extra environment for the embedded gateway (repeatable)");
        sb.AppendLine("  --idle-timeout 30m  idle-sessions: how long to wait for the active-session gauge to fall after play");
        sb.AppendLine("  --gateway-dll PATH  gateway to start (default <repo>/Gateway/bin/Release/net10.0/Loom.Gateway.dll, built if missing)");
        sb.AppendLine("  --llm fake|offline  embedded gateway's LLM: our fake OpenAI server (default) or the offline narrator (default for smoke)");
        sb.AppendLine("  --latency 1.5s      fake LLM: time from request to last token (L)");
        sb.AppendLine("  --ttft 200ms        fake LLM: time to first token (default min(200ms, L))");
        sb.AppendLine("  --token-rate N      fake LLM: tokens per second (overrides L for pacing)");
        sb.AppendLine("  --users N           concurrent users (scenario default otherwise)");
        sb.AppendLine("  --turns N           turns per session / iterations (scenario default otherwise; roll: turns before the baseline)");
        sb.AppendLine("  --duration 30s      cap per phase (overhead: length of the throughput phase; roll: the baseline before the roll)");
        sb.AppendLine("  --warmup 10s        unmeasured load before each measured workload (new processes JIT-compile meanwhile); 0 = none");
        sb.AppendLine("  --levels 1,3,5      turn-scheduler concurrencies (default 1,3,5,10,20; add 100,1000)");
        sb.AppendLine("  --out DIR           report folder (default LoadTests/reports/<timestamp>)");
        sb.AppendLine("  --api-key KEY       bearer key for a target that requires one");
        sb.AppendLine("  --ready-timeout 90s how long to wait for GET /readyz");
        sb.AppendLine("  --providers P:M,..  providers: provider:model pairs the target offers (default: the fake's openai, anthropic, ollama)");
        sb.AppendLine("  --pg CONNECTION     PostgreSQL: kpis reads pg_stat_database / pg_stat_io; workflow runs 'production' on it");
        sb.AppendLine("  --fresh-gateway     a new embedded gateway (own database) for each scenario after the first, so no workload");
        sb.AppendLine("                      inherits another's sessions and heap (e.g. with 'all')");
        sb.AppendLine("  --relay             instead of LOOM, a relay without an engine (each turn one streamed call to the fake model,");
        sb.AppendLine("                      nothing stored): the floor this machine and the runner set (e2e, e2e-1000, overhead,");
        sb.AppendLine("                      turn-scheduler, session-manager)");
        sb.AppendLine("  --strict            every target becomes a gate (non-zero exit when missed)");
        sb.AppendLine();
        sb.AppendLine("Exit codes: 0 ok, 1 a gate failed, 2 bad command line, 3 target could not be started or reached, 130 interrupted.");
        return sb.ToString();
    }
}
