using System.Data.Common;
using Loom.Storage;
using Loom.Storage.Migrations;
using StackExchange.Redis;

namespace Loom.Silo.Hosting;

/// <summary>
/// A start that fails on what the process depends on — a database it cannot reach or log in to, a schema that is not
/// this build's, a Redis it cannot connect to — ends with one line on stderr and the exit code the <c>migrate</c>
/// command uses for the same fault (<see cref="MigrateCommand"/>), not an unhandled exception with a stack trace.
/// </summary>
public static class StartupFailures
{
    /// <summary>The line to print and the exit code when <paramref name="exception"/> is such a failure; otherwise null.</summary>
    public static (string Message, int ExitCode)? Describe(Exception exception) => exception switch
    {
        AggregateException { InnerExceptions.Count: 1 } one => Describe(one.InnerExceptions[0]),
        // Cannot read the version: the database is unreachable or refuses the login (the message says which).
        SchemaMigrationException { InnerException: DbException } unreachable => (unreachable.Message, MigrateCommand.DatabaseUnreachable),
        SchemaMigrationException refused => (refused.Message, MigrateCommand.MigrationRefused),
        DbException database => ($"The database cannot be used (Loom:Storage): {database.Message}", MigrateCommand.DatabaseUnreachable),
        RedisConnectionException redis =>
            ($"Cannot connect to the cluster's Redis (Loom:Cluster:RedisConnectionString): {redis.Message}", MigrateCommand.DatabaseUnreachable),
        _ => null,
    };

    /// <summary>Writes the failure as one line for the operator and returns the process's exit code.</summary>
    public static int Report((string Message, int ExitCode) failure, TextWriter error)
    {
        error.WriteLine("LOOM cannot start: " + OneLine(failure.Message));
        return failure.ExitCode;
    }

    private static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
