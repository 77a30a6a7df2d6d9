using Loom.Storage;

namespace Loom.Tests.Storage;

internal static class RowStoreTestKit
{
    /// <summary>Writes rows straight into storage (as an import or a crashed older build would), outside any session.</summary>
    public static Task PutRowsAsync(this IGrainRowStore rows, GrainId grain, Action<RowUnit> stage)
    {
        var unit = new RowUnit(rows, grain);
        stage(unit);
        return rows.CommitAsync(new RowCommit { Grain = grain, Rows = unit.Rows });
    }
}
