using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;
using Loom.Storage.Metering;
using Loom.Storage.Rows;
using Loom.Telemetry;

namespace Loom.Storage;

public static class StorageSiloBuilderExtensions
{
    /// <summary>Name of the grain storage provider (<see cref="StorageNames.Provider"/>).</summary>
    public const string ProviderName = StorageNames.Provider;

    /// <summary>The ADO.NET provider behind <see cref="ProviderName"/>, which grains see through <see cref="MeteredGrainStorage"/>.</summary>
    private const string AdoNetProviderName = "loom.adonet";

    /// <summary>
    /// Registers grain storage "loom" (ADO.NET, Orleans binary serializer), the row store that commits session rows in
    /// one transaction (<see cref="SqlGrainRowStore"/>) and ADO.NET reminders on the database
    /// configured under <c>Loom:Storage</c>, plus the start-up schema gate (SQLite: migrate; PostgreSQL: verify).
    /// </summary>
    public static ISiloBuilder AddLoomStorage(this ISiloBuilder builder, IConfiguration configuration)
    {
        var services = builder.Services;
        services.AddOptions<StorageOptions>()
            .Bind(configuration.GetSection(StorageOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>();
        services.AddSingleton<StorageSchemaGate>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<StorageSchemaGate>());
        services.AddSingleton<Loom.Silo.Hosting.IStartupCheck>(sp => sp.GetRequiredService<StorageSchemaGate>());
        // Session and owner-usage rows: our own ADO.NET commits (one transaction each, or shared) on the same table.
        services.AddSingleton<SqlGrainRowStore>();
        services.AddSingleton<IGrainRowStore>(sp => sp.GetRequiredService<SqlGrainRowStore>());
        // Reads that do not belong to a live session go to the read replica when one is configured.
        services.AddSingleton<IReplicaRowReader>(sp =>
            sp.GetRequiredService<IOptions<StorageOptions>>().Value is { Kind: StorageProviderKind.Postgres, ReadConnectionString: { Length: > 0 } }
                ? ActivatorUtilities.CreateInstance<PostgresReplicaRowReader>(sp)
                : new NoReplicaRowReader());

        services.AddLoomMetrics();
        builder.AddAdoNetGrainStorage(AdoNetProviderName, o => o.Configure<IOptions<StorageOptions>, Serializer, StorageMetrics>(
            (storage, loom, serializer, metrics) =>
            {
                var database = StorageDatabase.From(loom.Value);
                storage.Invariant = database.Invariant;
                storage.ConnectionString = database.ConnectionString;
                // Orleans' binary format: rows follow [Id]/[Alias], so renaming a type or namespace keeps them readable.
                storage.GrainStorageSerializer = new MeteredGrainStorageSerializer(new OrleansGrainStorageSerializer(serializer), metrics);
            }));
        // Grains name "loom"; each call they make is counted on its way to the provider (which keeps its own lifecycle).
        services.AddKeyedSingleton<IGrainStorage>(ProviderName, (sp, _) => new MeteredGrainStorage(
            sp.GetRequiredKeyedService<IGrainStorage>(AdoNetProviderName), sp.GetRequiredService<StorageMetrics>()));

        builder.UseAdoNetReminderService(o => o.Configure<IOptions<StorageOptions>>((reminders, loom) =>
        {
            var database = StorageDatabase.From(loom.Value);
            reminders.Invariant = database.Invariant;
            reminders.ConnectionString = database.ConnectionString;
        }));

        // A database outage answers 503 storage_unavailable from every grain, not the driver's exception.
        builder.AddIncomingGrainCallFilter<StorageOutageFilter>();

        // Npgsql exceptions reach callers as "no codec" errors unless their namespace is allowed.
        services.AddOptions<ExceptionSerializationOptions>().Configure<IOptions<StorageOptions>>((exceptions, loom) =>
        {
            if (loom.Value.Kind == StorageProviderKind.Postgres &&
                !exceptions.SupportedNamespacePrefixes.Contains("Npgsql"))
            {
                exceptions.SupportedNamespacePrefixes.Add("Npgsql");
            }
        });

        return builder;
    }
}
