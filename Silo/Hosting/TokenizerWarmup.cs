using Loom.Text;

namespace Loom.Silo.Hosting;

/// <summary>
/// Loads the token counter's vocabulary on a thread-pool thread while the silo starts, before it becomes active and
/// takes activations, so no grain's first turn pays for it on the grain scheduler (see <see cref="TiktokenCounter.Warm"/>).
/// </summary>
internal sealed class TokenizerWarmup : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(TokenizerWarmup), ServiceLifecycleStage.RuntimeGrainServices, _ => Task.Run(TiktokenCounter.Warm));
}
