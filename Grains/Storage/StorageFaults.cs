using System.Data.Common;
using System.Net.Sockets;
using Loom.Errors;
using Orleans.Storage;

namespace Loom.Storage;

/// <summary>
/// Tells a database that cannot be reached (PostgreSQL restarting, a connection refused or dropped, the pool timing
/// out) from every other failure, by the real cause anywhere in the exception's chain: Orleans' storage bridge wraps
/// provider errors in <see cref="Orleans.Runtime.OrleansException"/>, our row store throws them as they come.
/// A stale version (<see cref="InconsistentStateException"/>) is never an outage: it means another writer won; nor is
/// an error in what was asked (a constraint, a syntax error), which stays a fault to fix.
/// </summary>
public static class StorageFaults
{
    public static bool IsOutage(Exception exception)
    {
        var outage = false;
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            switch (ex)
            {
                case InconsistentStateException:
                    return false;
                // Already named by a silo (a grain's state unreadable at activation, wrapped by Orleans on the way).
                case LoomProblemException { Code: Problems.StorageUnavailableCode }:
                    return true;
                // Npgsql and Microsoft.Data.Sqlite derive from DbException and say themselves whether a retry can
                // succeed (a refused or dropped connection, a pool timeout, SQLite busy); the gateway needs neither.
                case DbException db when db.IsTransient || IsUnavailableState(db.SqlState) || IsUnusableSqliteFile(db):
                case SocketException:
                    outage = true;
                    break;
                case AggregateException { InnerExceptions.Count: > 1 } many:
                    return outage || many.InnerExceptions.Any(IsOutage);
            }
        }
        return outage;
    }

    /// <summary>
    /// The embedded SQLite file failing for anything but a constraint (I/O error, full or read-only disk, a table gone, a
    /// corrupt page): there is no server to retry against, the file is not usable, and the caller can only wait for an
    /// operator. The grains do not reference the SQLite driver, so its result code is read by name (19 = SQLITE_CONSTRAINT);
    /// this runs on error paths only.
    /// </summary>
    private static bool IsUnusableSqliteFile(DbException db) =>
        db.GetType().FullName == "Microsoft.Data.Sqlite.SqliteException" &&
        db.GetType().GetProperty("SqliteErrorCode")?.GetValue(db) is int code && code != SqliteConstraint;

    private const int SqliteConstraint = 19;

    /// <summary>SQLSTATE classes of a server going away or refusing work: 08 connection exception, 53 insufficient
    /// resources (too many connections), 57P admin/crash shutdown and "cannot connect now" (starting up).</summary>
    private static bool IsUnavailableState(string? state) =>
        state is not null && (state.StartsWith("08", StringComparison.Ordinal) || state.StartsWith("53", StringComparison.Ordinal) ||
                              state.StartsWith("57P", StringComparison.Ordinal));
}
