using Xunit.Abstractions;
using Xunit.Sdk;

namespace Loom.Tests.Cluster;

/// <summary>Runs the cluster scenarios in method-name order (Step1_, Step2_, ...): later steps take silos away.</summary>
public sealed class StepOrderer : ITestCaseOrderer
{
    public const string TypeName = "Loom.Tests.Cluster.StepOrderer";
    public const string AssemblyName = "Loom.Tests";

    public IEnumerable<TTestCase> OrderTestCases<TTestCase>(IEnumerable<TTestCase> testCases) where TTestCase : ITestCase =>
        testCases.OrderBy(t => t.TestMethod.Method.Name, StringComparer.Ordinal);
}
