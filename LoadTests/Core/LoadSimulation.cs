namespace Loom.LoadTests.Core;

/// <summary>How virtual users are injected during a phase (NBomber's "load simulations", reduced to what we need).</summary>
public abstract record LoadSimulation
{
    private LoadSimulation() { }

    /// <summary>The most users this simulation may run at once; sizes per-user resources (sessions).</summary>
    public abstract int MaxUsers { get; }

    /// <summary>
    /// <paramref name="Users"/> users loop in parallel until <paramref name="Duration"/> passes or each has run
    /// <paramref name="IterationsPerUser"/> iterations, whichever comes first (at least one must be given).
    /// </summary>
    public sealed record ConstantConcurrency(int Users, TimeSpan? Duration = null, int? IterationsPerUser = null) : LoadSimulation
    {
        public override int MaxUsers => Users;
    }

    /// <summary>Active users move linearly from <paramref name="FromUsers"/> to <paramref name="ToUsers"/> over <paramref name="Duration"/>.</summary>
    public sealed record RampingConcurrency(int FromUsers, int ToUsers, TimeSpan Duration) : LoadSimulation
    {
        public override int MaxUsers => Math.Max(FromUsers, ToUsers);

        public int TargetAt(TimeSpan elapsed)
        {
            var f = Duration <= TimeSpan.Zero ? 1 : Math.Clamp(elapsed / Duration, 0, 1);
            return (int)Math.Round(FromUsers + (ToUsers - FromUsers) * f, MidpointRounding.AwayFromZero);
        }
    }

    /// <summary>
    /// Starts <paramref name="PerSecond"/> iterations a second for <paramref name="Duration"/> (open model), never more than
    /// <paramref name="MaxConcurrency"/> in flight: an iteration due while the cap is reached is dropped and counted.
    /// </summary>
    public sealed record InjectionRate(double PerSecond, TimeSpan Duration, int MaxConcurrency) : LoadSimulation
    {
        public override int MaxUsers => MaxConcurrency;
        // The epsilon keeps floating-point noise (1000 / 120 × 120 = 1000.0000000001) from adding an iteration.
        public long TotalIterations => (long)Math.Ceiling(PerSecond * Duration.TotalSeconds - 1e-9);
    }

    public void Validate()
    {
        switch (this)
        {
            case ConstantConcurrency c:
                if (c.Users is < 1 or > 100_000) throw new ArgumentException("users must be 1..100000");
                if (c.Duration is null && c.IterationsPerUser is null)
                    throw new ArgumentException("constant concurrency needs a duration or an iteration count");
                if (c.IterationsPerUser is < 1) throw new ArgumentException("iterations must be at least 1");
                break;
            case RampingConcurrency r:
                if (r.FromUsers < 0 || r.ToUsers < 0 || r.MaxUsers is 0 or > 100_000) throw new ArgumentException("ramp users must be 0..100000 and not both 0");
                if (r.Duration <= TimeSpan.Zero) throw new ArgumentException("ramp duration must be positive");
                break;
            case InjectionRate i:
                if (i.PerSecond is <= 0 or > 100_000 || double.IsNaN(i.PerSecond)) throw new ArgumentException("rate must be in (0, 100000]");
                if (i.Duration <= TimeSpan.Zero) throw new ArgumentException("injection duration must be positive");
                if (i.MaxConcurrency is < 1 or > 100_000) throw new ArgumentException("max concurrency must be 1..100000");
                break;
        }
    }
}
