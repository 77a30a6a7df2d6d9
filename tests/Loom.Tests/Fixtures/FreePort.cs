using Loom.LoadTests.Target;

namespace Loom.Tests.Fixtures;

/// <summary>
/// Ports for servers the tests start (silos, PostgreSQL, Redis, gateways): from 20000–31999, apart from the load
/// runner's range, each at most once per process and only if bindable now (see <see cref="PortRange"/>).
/// </summary>
public static class FreePort
{
    private static readonly PortRange s_ports = new(first: 20_000, count: 12_000);

    public static int Next() => s_ports.Next();
}
