using Loom.Gateway.Auth;
using Loom.Gateway.Endpoints;
using Loom.Gateway.Hosting;
using Loom.Gateway.Http;
using Loom.Gateway.OpenAi;
using Loom.Silo.Hosting;
using Loom.Silo.Telemetry;

// `Loom.Gateway keys add|hash|create|list|revoke ...` manages API keys and exits.
if (args is ["keys", .. var keyArgs]) return await KeysCommand.RunAsync(keyArgs, Console.In, Console.Out, Console.Error, Environment.GetEnvironmentVariable);

var app = HostRun.Build(() =>
{
    var builder = WebApplication.CreateBuilder(args);
    builder.ListenOnLoopbackUnlessConfigured(OperationalEndpoints.GatewayHttpPort);
    builder.AddLoomGateway();
    return builder.Build();
}, Console.Error, out var refused);
if (app is null) return refused;

app.UseLoomSecurityHeaders();
app.UseLoomProblems();
// Routing first, so the body limit can see which endpoint a request is for (imports take more).
app.UseRouting();
app.UseLoomCors();
app.UseLoomBodyEncoding();
app.UseMiddleware<BodySizeLimit>();
if (app.Services.GetService<ClusterConnection>() is not null) app.Use(ClusterConnection.Gate);
// The page, its files and the API reference are public: served before authentication runs. The studio's files are
// embedded in the assembly: wwwroot next to the working directory is not looked up, so any folder can start the gateway.
app.Environment.WebRootFileProvider = new Microsoft.Extensions.FileProviders.ManifestEmbeddedFileProvider(typeof(Program).Assembly, "wwwroot");
app.UseDefaultFiles();
app.UseStaticFiles();
app.UseSwaggerUI(o =>
{
    o.RoutePrefix = "docs";
    o.SwaggerEndpoint("/openapi/v1.json", "LOOM API v1");
    o.DocumentTitle = "LOOM API reference";
});
// Every endpoint after this needs a caller (fallback policy) unless it says AllowAnonymous; then rate limits per key.
app.UseAuthentication();
app.UseAuthorization();
app.UseRateLimiter();
app.UseSessionRouteIds();

app.MapOpenApi().AllowAnonymous();
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
app.MapAdminKeyEndpoints();
app.MapRoomEndpoints();
app.MapOpenAiEndpoints();

app.Lifetime.ApplicationStarted.Register(() =>
{
    ListenGuard.CheckBoundAddresses(app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>(),
        app.Services.GetRequiredService<ConfigApiKeyLookup>(), app.Lifetime, app.Logger);
    foreach (var url in app.Urls) Console.WriteLine($"LOOM is running: open {url} in your browser (API reference: {url.TrimEnd('/')}/docs).");
});
return await HostRun.RunAsync(app, Console.Error) ?? Environment.ExitCode;

/// <summary>Entry point marker for WebApplicationFactory in tests.</summary>
public partial class Program;
