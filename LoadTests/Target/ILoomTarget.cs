using Loom.LoadTests.Monitoring;

namespace Loom.LoadTests.Target;

/// <summary>The LOOM deployment under test: where to send requests and, when known, which processes to watch.</summary>
public interface ILoomTarget : IAsyncDisposable
{
    Uri BaseAddress { get; }

    /// <summary>LOOM processes whose CPU and RSS are reported (gateway and silos); empty when unknown.</summary>
    IReadOnlyList<WatchedProcess> Processes { get; }

    string Description { get; }
}

/// <summary>An already running gateway or cluster (<c>--target</c>, <c>--cluster-dir</c>); the runner neither starts nor stops it.</summary>
public sealed class ExistingTarget(Uri baseAddress, IReadOnlyList<WatchedProcess> processes, string? origin = null) : ILoomTarget
{
    public Uri BaseAddress { get; } = baseAddress;
    public IReadOnlyList<WatchedProcess> Processes { get; } = processes;
    public string Description => (origin ?? "existing gateway") + $" at {BaseAddress}"
        + (Processes.Count > 0 ? " (" + string.Join(", ", Processes.Select(p => $"{p.Label} pid {p.Pid}")) + ")" : "");
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
