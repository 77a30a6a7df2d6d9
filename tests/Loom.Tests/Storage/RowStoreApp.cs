using Loom.Storage;
using Loom.Storage.Rows;
using Loom.Tests.Api;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Loom.Tests.Storage;

/// <summary>
/// The embedded LOOM with its row store wrapped by a test's decorator (an outage switch, a held read), which a
/// <typeparamref name="TControl"/> singleton steers while the test runs.
/// </summary>
public sealed class RowStoreApp<TControl>(Func<IGrainRowStore, TControl, IGrainRowStore> wrap, IDictionary<string, string?>? settings = null)
    : LoomAppFactory(null, settings) where TControl : class
{
    public TControl Control => Services.GetRequiredService<TControl>();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton<TControl>();
            services.AddSingleton(sp => wrap(sp.GetRequiredService<SqlGrainRowStore>(), sp.GetRequiredService<TControl>()));
        });
    }
}
