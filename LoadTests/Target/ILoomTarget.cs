namespace Loom.LoadTests.Target;

/// <summary>The LOOM deployment under test: where to send requests and, when known, which process to watch.</summary>
public interface ILoomTarget : IAsyncDisposable
{
    Uri BaseAddress { get; }

    /// <summary>Process whose CPU and RSS are reported; null for a remote-managed cluster.</summary>
    int? ProcessId { get; }

    string Description { get; }
}

/// <summary>An already running gateway (<c>--target</c>); the runner neither starts nor stops it.</summary>
public sealed class ExistingTarget(Uri baseAddress, int? processId) : ILoomTarget
{
    public Uri BaseAddress { get; } = baseAddress;
    public int? ProcessId { get; } = processId;
    public string Description => $"existing gateway at {BaseAddress}" + (ProcessId is { } p ? $" (pid {p})" : "");
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
