using Loom.Silo.Hosting;

namespace Loom.Tests.Hosting;

/// <summary>When a silo gives deactivated sessions' memory back: enough deactivations since the last trim, and quiet.</summary>
public sealed class IdleTrimPolicyTests
{
    private const long Mb = 1 << 20;

    [Fact]
    public void A_quiet_silo_trims_once_per_batch_of_deactivations()
    {
        var policy = new IdleTrimPolicy(minDeactivations: 1000, quietAllocatedBytes: 64 * Mb);

        Assert.False(policy.Due(deactivations: 5000, allocatedBytes: 100 * Mb)); // the first look has nothing to compare
        Assert.True(policy.Due(5000, 110 * Mb));                                  // quiet (10 MB), 5,000 gone: trim
        Assert.False(policy.Due(5000, 111 * Mb));                                 // nothing new deactivated since
        Assert.False(policy.Due(5999, 112 * Mb));                                 // 999 more: not yet
        Assert.True(policy.Due(6000, 113 * Mb));                                  // 1,000 more: trim again
    }

    [Fact]
    public void A_busy_silo_is_left_to_its_own_collections()
    {
        var policy = new IdleTrimPolicy(1000, 64 * Mb);
        Assert.False(policy.Due(0, 0));

        Assert.False(policy.Due(3000, 500 * Mb));  // 500 MB allocated since the last look: busy
        Assert.False(policy.Due(3000, 1000 * Mb)); // still busy
        Assert.True(policy.Due(3000, 1010 * Mb));  // then quiet: the deactivations counted while busy are still owed
    }

    [Fact]
    public void Zero_turns_it_off()
    {
        var policy = new IdleTrimPolicy(0, 64 * Mb);
        Assert.False(policy.Due(0, 0));
        Assert.False(policy.Due(1_000_000, 1));
    }
}
