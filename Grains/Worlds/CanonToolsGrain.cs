using Loom.Canon;

namespace Loom.Worlds;

/// <summary>Validation without side effects; a stateless worker so it runs on the caller's silo and scales out.</summary>
[StatelessWorker]
public sealed class CanonToolsGrain : Grain, ICanonToolsGrain
{
    public Task<CanonValidation> Validate(CanonSubmission submission) => Task.FromResult(CanonParser.Validate(submission));
}
