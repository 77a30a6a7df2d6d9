using System.Runtime.CompilerServices;

namespace Loom.Llm;

/// <summary>
/// Hosts narration calls on the calling silo. Calls are I/O bound, so one reentrant activation serves many
/// at once. Exactly one activation per key: Orleans routes each MoveNext of a streamed answer as a separate
/// call, and with several workers under one key it can land on an activation that does not hold the
/// enumerator (EnumerationAbortedException, seen with 12 concurrent streams). Sessions all use key 0: spreading them
/// over keys (<see cref="LlmGrainKeys.For"/>) was measured at 1,000 sessions and gained nothing (docs/performance.md).
/// An answer nobody watches arrive is asked for whole (<see cref="Complete"/>): a stream costs a grain call per chunk.
/// </summary>
// removeIdleWorkers: false — proactive idle removal can deactivate the worker between two MoveNext calls of a
// live stream, which aborts the enumeration (seen under CPU load in the cluster failure tests).
[StatelessWorker(maxLocalWorkers: 1, removeIdleWorkers: false)]
[Reentrant]
public sealed class LlmGrain(LlmRouter router) : Grain, ILlmGrain
{
    public async IAsyncEnumerable<LlmChunk> Stream(LlmRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await foreach (var chunk in router.StreamAsync(request, cancellationToken))
        {
            yield return chunk;
        }
    }

    public Task<LlmAnswer> Complete(LlmRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return LlmAnswers.CollectAsync(router.StreamAsync(request, cancellationToken));
    }
}
