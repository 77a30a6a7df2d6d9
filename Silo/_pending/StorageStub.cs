// TEMPORARY: replaced by the storage branch (ADO.NET on SQLite/PostgreSQL).
namespace Loom.Silo.Storage;

public static class StorageStub
{
    public static ISiloBuilder AddLoomStorage(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.AddMemoryGrainStorage("loom");
        silo.UseInMemoryReminderService();
        return silo;
    }
}
