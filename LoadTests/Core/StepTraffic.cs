namespace Loom.LoadTests.Core;

/// <summary>The step whose call is in flight on this async flow, so the HTTP layer can tally its traffic.</summary>
public static class StepTraffic
{
    private static readonly AsyncLocal<StepStats?> CurrentStep = new();

    public static StepStats? Current
    {
        get => CurrentStep.Value;
        set => CurrentStep.Value = value;
    }
}
