using Microsoft.AspNetCore.Builder;

namespace Loom.LoadTests.Target;

/// <summary>
/// The runner's own web servers (the fake model, the relay) start from the runner's folder and watch no configuration
/// files. With the default, the folder the runner was started from is watched recursively; started from one that
/// holds the gateway's database (/tmp, say), the runner took a file event for every page the gateway wrote.
/// </summary>
internal static class HarnessWeb
{
    public static WebApplicationBuilder CreateBuilder() => WebApplication.CreateSlimBuilder(new WebApplicationOptions
    {
        ContentRootPath = AppContext.BaseDirectory,
        Args = ["--hostBuilder:reloadConfigOnChange=false"],
    });
}
