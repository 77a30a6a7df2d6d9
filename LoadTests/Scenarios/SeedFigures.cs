namespace Loom.LoadTests.Scenarios;

/// <summary>
/// The Python seed's published figures (in process, no HTTP, no durable queue) and the targets we set ourselves.
/// Kept in one place so every table quotes the same numbers.
/// </summary>
public static class SeedFigures
{
    public const string NotPublished = "–";

    public const double SeedTurnsPerSecondAtZeroLatency = 224;
    public const double SeedSessionCreateP95Ms = 1900;
    public const double SeedTpsAtOnePointFiveSeconds = 63.8;
    public const string SeedTurnScheduler = "0.13 TPS, 96 % of turns timed out";

    public const double TargetTps100Users = 65;
    public const double TargetTps1000Sessions = 600;
    public const double TargetP95OverLatencyMs = 30;
    public const double TargetGatewayRssMb = 200;
    public const double TargetTurnsPerSecondAtZeroLatency = 500;
    public const double TargetOverheadP95Ms = 5;
    public const double TargetSessionCreateP95Ms = 20;
}
