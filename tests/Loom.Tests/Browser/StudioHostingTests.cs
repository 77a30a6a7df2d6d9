using System.Diagnostics;
using System.Net;
using Loom.LoadTests.Target;
using Loom.Tests.Fixtures;
using Loom.Gateway.Http;

namespace Loom.Tests.Browser;

/// <summary>
/// `dotnet Loom.Gateway.dll` started from any folder serves the studio: its files are embedded in the assembly,
/// not looked up next to the working directory. Runs the built gateway as a process from an empty temp folder.
/// </summary>
public sealed class StudioHostingTests : IDisposable
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    private readonly string _cwd = Directory.CreateTempSubdirectory("loom-studio-cwd-").FullName;

    [Fact]
    public async Task The_built_gateway_serves_the_studio_from_an_unrelated_working_directory()
    {
        var root = RepoPaths.FindRoot() ?? throw new InvalidOperationException("repository root (Loom.Orleans.sln) not found");
        var dll = Path.Combine(root, "Gateway", "bin", Configuration, "net10.0", "Loom.Gateway.dll");
        Assert.True(File.Exists(dll), $"build the solution first: {dll} is missing");
        var port = FreePort.Next();
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = _cwd };
        info.ArgumentList.Add(dll);
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add($"http://127.0.0.1:{port}");
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["Loom__Cluster__Mode"] = "embedded";
        info.Environment["Loom__Cluster__ClusterId"] = "studio-" + Guid.NewGuid().ToString("N")[..8];
        info.Environment["Loom__Cluster__SiloPort"] = FreePort.Next().ToString();
        info.Environment["Loom__Cluster__GatewayPort"] = FreePort.Next().ToString();
        info.Environment["Loom__Storage__Provider"] = "sqlite";
        info.Environment["Loom__Storage__SqlitePath"] = Path.Combine(_cwd, "loom.db");
        var log = new System.Text.StringBuilder();
        using var process = ChildProcesses.Start(info, line => { lock (log) log.AppendLine(line); });
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            HttpResponseMessage page;
            while (true)
            {
                // The log is read under its lock: the output thread appends to it meanwhile.
                if (ChildProcesses.HasExited(process)) lock (log) Assert.Fail($"the gateway exited:\n{log}");
                try
                {
                    page = await http.GetAsync("/", deadline.Token);
                    break;
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(200, deadline.Token);
                }
            }

            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            Assert.Equal(SecurityHeaders.PagePolicy, page.Headers.GetValues("Content-Security-Policy").Single());
            var html = await page.Content.ReadAsStringAsync();
            Assert.Contains("<script type=\"module\" src=\"app.js\"></script>", html);
            Assert.DoesNotContain("<script>", html);
            foreach (var file in new[] { "app.js", "app.css", "js/play.js", "js/sse.js" })
            {
                using var response = await http.GetAsync(file);
                Assert.True(response.IsSuccessStatusCode, $"{file}: {(int)response.StatusCode}");
            }
            Assert.False(Directory.Exists(Path.Combine(_cwd, "wwwroot")));
        }
        finally
        {
            ChildProcesses.Terminate(process);
            if (!process.WaitForExit(15_000)) ChildProcesses.Kill(process);
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(_cwd, recursive: true); } catch (IOException) { }
    }
}
