namespace Loom.LoadTests.Scenarios;

/// <summary>
/// Figures quoted beside ours, kept in one place so every table labels them the same way. Two sources, never mixed:
/// <see cref="SeedFigures"/> are the seed document's own published tables; <see cref="PythonLoomFigures"/> were
/// measured by running the Python LOOM engine in process (no HTTP, no durable queue) on this kind of machine.
/// </summary>
public static class SeedFigures
{
    public const string Label = "the seed's figures";
    public const string NotPublished = "–";

    public const double TpsAt100Users = 8.2;
    public const double P95At100UsersMs = 4200;
    public const double ErrorRateAt100Users = 0.03;
    public const double SessionCreateAvgMs = 50;
    public const double SessionCreateP95Ms = 80;
    public const double MemoryGetMs = 15;
    public const double MemoryFullTextMs = 50;
    public const double MemoryVectorMs = 80;
    public const double Rules1MbMs = 500;
}

/// <summary>The Python LOOM, measured on this kind of machine (2 cores): see <see cref="SeedFigures"/>.</summary>
public static class PythonLoomFigures
{
    public const string Label = "Python LOOM measured";

    public const double TpsAt100UsersL15 = 63.8;
    public const double TurnsPerSecondAtZeroLatency = 224;
    public const double SessionCreateP95Ms = 1900;
    public const string TurnScheduler = "0.13 TPS";
}

/// <summary>The targets of issue 11, each checked beside its physical bound.</summary>
public static class Targets
{
    public const double Tps100Users = 65;
    public const double P95Over100UsersMs = 30;
    public const double Rss100UsersMb = 200;

    public const double Tps1000Sessions = 600;
    public const double P95Over1000SessionsMs = 100;
    public const double Rss1000SessionsMb = 1024;

    public const double IdleRssAfterCollectionMb = 1024;

    public const double TurnsPerSecondAtZeroLatency = 500;
    public const double EngineCpuMsPerTurn = 2;
    public const double OverheadP50Ms = 2;
    public const double OverheadP95Ms = 5;
    public const double SessionCreateP95Ms = 20;
}

/// <summary>The seed's KPI targets (its performance document's KPI list; issue 17), as the kpis scenario checks them.</summary>
public static class SeedKpis
{
    public const double TurnLatencyP95Ms = 5000;
    public const double LlmLatencyP95Ms = 3000;
    public const double MemoryRetrievalP95Ms = 100;
    public const double Tps = 10;
    public const double ConcurrentSessions = 100;
    public const double CpuPercentOfMachine = 70;
    public const double ResidentMemoryMb = 2048;
    public const double StorageIops = 100;
    public const double CostPerTurnUsd = 0.01;
    public const double TokenEfficiency = 0.8;
}
