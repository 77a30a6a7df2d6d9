using Loom.Gateway.Endpoints;
using Loom.Gateway.Hosting;
using Loom.Gateway.Http;
using Loom.Silo.Telemetry;

var builder = WebApplication.CreateBuilder(args);
builder.AddLoomGateway();

var app = builder.Build();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseMiddleware<BodySizeLimit>();
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
app.MapMemoryEndpoints();
app.MapTimelineEndpoints();
app.MapEventStream();

app.Lifetime.ApplicationStarted.Register(() =>
{
    foreach (var url in app.Urls) Console.WriteLine($"LOOM is running: open {url} in your browser (API reference: {url.TrimEnd('/')}/docs).");
});
app.Run();

/// <summary>Entry point marker for WebApplicationFactory in tests.</summary>
public partial class Program;
