using Loom.Gateway.Auth;
using Loom.Gateway.Endpoints;
using Loom.Gateway.Hosting;
using Loom.Gateway.Http;
using Loom.Silo.Telemetry;

// `Loom.Gateway keys add --owner NAME` makes an API key and exits.
if (args is ["keys", .. var keyArgs]) return KeysCommand.Run(keyArgs, Console.In, Console.Out, Console.Error);

var builder = WebApplication.CreateBuilder(args);
builder.AddLoomGateway();

var app = builder.Build();
app.UseExceptionHandler();
app.UseStatusCodePages();
// Routing first, so the body limit can see which endpoint a request is for (imports take more).
app.UseRouting();
app.UseMiddleware<BodySizeLimit>();
if (app.Services.GetService<ClusterConnection>() is not null) app.Use(ClusterConnection.Gate);
app.UseDefaultFiles();
app.UseStaticFiles();

app.MapOpenApi();
app.UseSwaggerUI(o =>
{
    o.RoutePrefix = "docs";
    o.SwaggerEndpoint("/openapi/v1.json", "LOOM API v1");
    o.DocumentTitle = "LOOM API reference";
});
app.MapOperationsEndpoints();
app.MapLoomMetrics();
app.MapWorldEndpoints();
app.MapSessionEndpoints();
app.MapTurnEndpoints();
app.MapUsageEndpoints();
app.MapMemoryEndpoints();
app.MapTimelineEndpoints();
app.MapAdminSessionEndpoints();
app.MapEventStream();

app.Lifetime.ApplicationStarted.Register(() =>
{
    ListenGuard.CheckBoundAddresses(app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>(),
        app.Services.GetRequiredService<CallerResolver>(), app.Lifetime, app.Logger);
    foreach (var url in app.Urls) Console.WriteLine($"LOOM is running: open {url} in your browser (API reference: {url.TrimEnd('/')}/docs).");
});
app.Run();
return Environment.ExitCode;

/// <summary>Entry point marker for WebApplicationFactory in tests.</summary>
public partial class Program;
