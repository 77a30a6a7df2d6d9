using System.Text.RegularExpressions;
using Loom.Silo.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using YamlDotNet.RepresentationModel;

namespace Loom.Tests.Helm;

/// <summary>
/// The chart, the Dockerfile and the code agree: configuration keys (read from the options classes), ports,
/// probe paths, the shutdown budget. A renamed key or moved port in one place fails here rather than in a cluster.
/// </summary>
public sealed partial class DeploymentContractTests
{
    /// <summary>
    /// Platform variables the hosts read besides Loom:*: Kestrel's URLs, the OTLP endpoint (TelemetryExtensions),
    /// POD_NAME/POD_IP (LoomClusterOptions.From) and POD_NAMESPACE (trace resource attributes).
    /// </summary>
    internal static readonly string[] PlatformVariables =
    [
        "ASPNETCORE_URLS", TelemetryExtensions.OtlpEndpointKey, "POD_NAME", "POD_IP", "POD_NAMESPACE",
    ];

    private static string EnvForm(string key) => key.Replace(":", "__", StringComparison.Ordinal);

    private static YamlMappingNode Container(string template)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(ChartFiles.Destructure(File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, template)))));
        var root = (YamlMappingNode)stream.Documents.First(d => d.RootNode is YamlMappingNode { Children.Count: > 0 }).RootNode;
        var podSpec = (YamlMappingNode)root["spec"]["template"]["spec"];
        return (YamlMappingNode)((YamlSequenceNode)podSpec["containers"]).Children[0];
    }

    /// <summary>Env names set in a template, including those from the helpers it includes.</summary>
    internal static HashSet<string> EnvNames(string template)
    {
        var text = File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, template));
        var helpers = File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, "_helpers.tpl"));
        var names = EnvName().Matches(text).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        foreach (Match include in Include().Matches(text))
        {
            var define = Regex.Match(helpers, $@"define ""{Regex.Escape(include.Groups[1].Value)}"".*?\n(.*?)\{{\{{- end -\}}\}}", RegexOptions.Singleline);
            names.UnionWith(EnvName().Matches(define.Groups[1].Value).Select(m => m.Groups[1].Value));
        }

        return names;
    }

    [Theory]
    [InlineData("silo-deployment.yaml")]
    [InlineData("gateway-deployment.yaml")]
    [InlineData("migration-job.yaml")]
    public void Every_env_var_the_chart_sets_is_one_the_hosts_read(string template)
    {
        var unknown = EnvNames(template).Where(n => !PlatformVariables.Contains(n) && !ConfigurationKeys.IsBound(n)).ToList();
        Assert.True(unknown.Count == 0, $"{template} sets variables nothing reads: {string.Join(", ", unknown)}");
    }

    [Fact]
    public void Silo_gets_everything_it_needs_to_join_a_redis_cluster_with_postgres_storage()
    {
        var names = EnvNames("silo-deployment.yaml");
        string[] required =
        [
            "Loom:Cluster:Mode", "Loom:Cluster:ClusterId", "Loom:Cluster:ServiceId", "Loom:Cluster:RedisConnectionString",
            "Loom:Cluster:SiloName", "Loom:Cluster:AdvertisedAddress", "Loom:Cluster:SiloPort", "Loom:Cluster:GatewayPort",
            "Loom:Storage:Provider", "Loom:Storage:ConnectionString", "Loom:Llm:Provider", "Loom:Cluster:ShutdownTimeoutSeconds",
        ];
        Assert.All(required.Select(EnvForm), n => Assert.Contains(n, names));
        Assert.Contains("ASPNETCORE_URLS", names);

        var silo = File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, "silo-deployment.yaml"));
        // Downward API: the silo advertises its own pod, never a Service address.
        Assert.Matches(@"name: Loom__Cluster__SiloName\s+value: \$\(POD_NAME\)", silo);
        Assert.Matches(@"name: Loom__Cluster__AdvertisedAddress\s+value: \$\(POD_IP\)", silo);
        Assert.Contains("fieldPath: status.podIP", File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, "_helpers.tpl")), StringComparison.Ordinal);
    }

    [Fact]
    public void Gateway_is_an_orleans_client_without_storage_or_llm_secrets()
    {
        var names = EnvNames("gateway-deployment.yaml");
        Assert.Contains(EnvForm("Loom:Cluster:RedisConnectionString"), names);
        Assert.Contains(EnvForm("Loom:Cluster:ClusterId"), names);
        Assert.DoesNotContain(EnvForm("Loom:Storage:ConnectionString"), names);
        Assert.DoesNotContain(EnvForm("Loom:Llm:ApiKey"), names);
    }

    [Fact]
    public void Default_ports_match_the_code_and_the_dockerfiles()
    {
        var values = ChartStructureTests.LoadValues();
        Assert.Equal(OperationalEndpoints.SiloPort, (int)values["cluster"]!["siloPort"]!);
        Assert.Equal(OperationalEndpoints.GatewayPort, (int)values["cluster"]!["gatewayPort"]!);
        Assert.Equal(OperationalEndpoints.SiloHttpPort, (int)values["silo"]!["httpPort"]!);
        Assert.Equal(OperationalEndpoints.GatewayContainerHttpPort, (int)values["gateway"]!["httpPort"]!);

        // One Dockerfile for both processes: PROJECT (silo|gateway) picks the final stage; both stages share one runtime.
        var docker = ChartFiles.Read("Dockerfile");
        Assert.False(File.Exists(Path.Combine(ChartFiles.RepoRoot, "Silo", "Dockerfile")), "Silo/Dockerfile is replaced by ./Dockerfile");
        Assert.False(File.Exists(Path.Combine(ChartFiles.RepoRoot, "Gateway", "Dockerfile")), "Gateway/Dockerfile is replaced by ./Dockerfile");
        Assert.Matches(@"(?m)^ARG PROJECT=(silo|gateway)$", docker);
        Assert.Matches(@"(?m)^FROM \$\{PROJECT\}$", docker);
        // Small non-root runtime base; the entrypoint never runs as root.
        var runtime = DockerStage(docker, "FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled");
        Assert.Contains("USER $APP_UID", runtime, StringComparison.Ordinal);

        var siloDocker = DockerStage(docker, "FROM runtime AS silo");
        Assert.Contains($"ASPNETCORE_URLS=http://+:{OperationalEndpoints.SiloHttpPort}", siloDocker, StringComparison.Ordinal);
        Assert.Contains($"EXPOSE {OperationalEndpoints.SiloHttpPort} {OperationalEndpoints.SiloPort} {OperationalEndpoints.GatewayPort}", siloDocker, StringComparison.Ordinal);
        Assert.Contains("ENTRYPOINT [\"dotnet\", \"Loom.Silo.dll\"]", siloDocker, StringComparison.Ordinal);

        var gatewayDocker = DockerStage(docker, "FROM runtime AS gateway");
        Assert.Contains($"ASPNETCORE_URLS=http://+:{OperationalEndpoints.GatewayContainerHttpPort}", gatewayDocker, StringComparison.Ordinal);
        Assert.Contains($"EXPOSE {OperationalEndpoints.GatewayContainerHttpPort}", gatewayDocker, StringComparison.Ordinal);
        Assert.Contains("ENTRYPOINT [\"dotnet\", \"Loom.Gateway.dll\"]", gatewayDocker, StringComparison.Ordinal);

        // A "Urls" key in a host's appsettings.json would beat ASPNETCORE_URLS and bind the pod to loopback only.
        foreach (var host in new[] { "Silo", "Gateway" })
        {
            var settings = System.Text.Json.Nodes.JsonNode.Parse(ChartFiles.Read(host, "appsettings.json"))!.AsObject();
            Assert.DoesNotContain(settings, kv => kv.Key.Equals("urls", StringComparison.OrdinalIgnoreCase));
        }

        // The chart derives ASPNETCORE_URLS from the same value as the container port the probes use.
        Assert.Contains("(int .Values.silo.httpPort)", File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, "silo-deployment.yaml")), StringComparison.Ordinal);
        Assert.Contains("(int .Values.gateway.httpPort)", File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, "gateway-deployment.yaml")), StringComparison.Ordinal);
    }

    /// <summary>The lines of one Dockerfile stage: from the <c>FROM</c> line starting with <paramref name="from"/> to the next <c>FROM</c>.</summary>
    private static string DockerStage(string docker, string from)
    {
        var start = docker.IndexOf("\n" + from, StringComparison.Ordinal);
        Assert.True(start >= 0, $"the Dockerfile has no stage '{from}'");
        var end = docker.IndexOf("\nFROM ", start + 1, StringComparison.Ordinal);
        return end < 0 ? docker[start..] : docker[start..end];
    }

    [Theory]
    [InlineData("silo-deployment.yaml", "startupProbe", OperationalEndpoints.Readyz)]
    [InlineData("silo-deployment.yaml", "readinessProbe", OperationalEndpoints.Readyz)]
    [InlineData("silo-deployment.yaml", "livenessProbe", OperationalEndpoints.Healthz)]
    [InlineData("gateway-deployment.yaml", "readinessProbe", OperationalEndpoints.Readyz)]
    [InlineData("gateway-deployment.yaml", "livenessProbe", OperationalEndpoints.Healthz)]
    public void Probes_hit_the_right_path_on_the_http_port(string template, string probe, string path)
    {
        var container = Container(template);
        var get = (YamlMappingNode)container[probe]["httpGet"];
        Assert.Equal(path, get["path"].ToString());
        Assert.Equal("http", get["port"].ToString());
        var ports = ((YamlSequenceNode)container["ports"]).Cast<YamlMappingNode>().Select(p => p["name"].ToString());
        Assert.Contains("http", ports);
    }

    [Fact]
    public void Silo_pod_is_shaped_for_safe_rollouts()
    {
        var silo = File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, "silo-deployment.yaml"));
        Assert.Contains("maxUnavailable: 0", silo, StringComparison.Ordinal);
        Assert.Contains("terminationGracePeriodSeconds: {{ .Values.silo.terminationGracePeriodSeconds }}", silo, StringComparison.Ordinal);
        Assert.Contains("fail \"silo.terminationGracePeriodSeconds must be longer", silo, StringComparison.Ordinal);
        Assert.Contains("mountPath: /tmp", silo, StringComparison.Ordinal);

        var values = ChartStructureTests.LoadValues();
        Assert.True((int)values["silo"]!["terminationGracePeriodSeconds"]! > (int)values["silo"]!["shutdownTimeoutSeconds"]!);
        var resources = values["silo"]!["resources"]!;
        Assert.NotNull(resources["requests"]!["cpu"]);
        Assert.Null(resources["limits"]!["cpu"]);
        Assert.NotNull(resources["limits"]!["memory"]);
        Assert.True((bool)values["podSecurityContext"]!["runAsNonRoot"]!);
        Assert.True((bool)values["containerSecurityContext"]!["readOnlyRootFilesystem"]!);
    }

    [Fact]
    public void Options_classes_are_discovered_so_the_env_check_has_teeth()
    {
        Assert.Contains("Loom:Cluster:ShutdownTimeoutSeconds", ConfigurationKeys.All);
        Assert.Contains("Loom:Storage:ConnectionString", ConfigurationKeys.All);
        Assert.Contains("Loom:Auth:Keys:*:Sha256", ConfigurationKeys.All);
        Assert.True(ConfigurationKeys.IsBound("Loom__Turns__MaxPending"));
        Assert.False(ConfigurationKeys.IsBound("Loom__Auth__ApiKeys__0"));
        Assert.False(ConfigurationKeys.IsBound("DOTNET_shutdownTimeoutSeconds"));
    }

    [Fact]
    public void Silo_shutdown_budget_from_the_chart_reaches_host_options_and_stays_under_the_grace_period()
    {
        var values = ChartStructureTests.LoadValues();
        var budget = (int)values["silo"]!["shutdownTimeoutSeconds"]!;
        var grace = (int)values["silo"]!["terminationGracePeriodSeconds"]!;
        Assert.True(grace > budget, $"terminationGracePeriodSeconds {grace} must exceed shutdownTimeoutSeconds {budget}");

        // The chart passes silo.shutdownTimeoutSeconds as this variable...
        var silo = File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, "silo-deployment.yaml"));
        Assert.Matches(@"name: Loom__Cluster__ShutdownTimeoutSeconds\s+value: \{\{ \.Values\.silo\.shutdownTimeoutSeconds \| quote \}\}", silo);

        // ...and the real silo composition turns it into the host's stop budget.
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateBuilder(new Microsoft.AspNetCore.Builder.WebApplicationOptions
        {
            Args = [$"--Loom:Cluster:ShutdownTimeoutSeconds={budget}", "--Loom:Cluster:Mode=embedded", "--Loom:Storage:Provider=sqlite",
                $"--Loom:Storage:SqlitePath={Path.Combine(Path.GetTempPath(), $"loom-unused-{Guid.NewGuid():N}.db")}",
                "--Loom:SeedExampleWorlds=false"],
        });
        Loom.Silo.Hosting.SiloHostingExtensions.AddLoomSilo(builder);
        using var provider = builder.Services.BuildServiceProvider();
        var options = provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.Extensions.Hosting.HostOptions>>();
        Assert.Equal(TimeSpan.FromSeconds(budget), options.Value.ShutdownTimeout);
    }

    [Fact]
    public void Gateway_grace_period_covers_the_prestop_sleep_and_the_host_stop_budget()
    {
        var gateway = ChartStructureTests.LoadValues()["gateway"]!;
        var budget = new Microsoft.Extensions.Hosting.HostOptions().ShutdownTimeout.TotalSeconds;
        Assert.Equal(30, budget); // the figure the template's guard adds
        Assert.True((int)gateway["terminationGracePeriodSeconds"]! > (int)gateway["preStopSleepSeconds"]! + budget);
        var template = File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, "gateway-deployment.yaml"));
        Assert.Contains("(add (int .Values.gateway.preStopSleepSeconds) 30)", template, StringComparison.Ordinal);
    }

    /// <summary>values.schema.json must not accept what the hosts then refuse at start-up ([Range] on the options).</summary>
    [Theory]
    [InlineData("turns", "maxInputChars", typeof(Loom.Sessions.TurnOptions), "MaxInputChars")]
    [InlineData("turns", "maxPending", typeof(Loom.Sessions.TurnOptions), "MaxPending")]
    [InlineData("cluster", "siloPort", typeof(Loom.Silo.Hosting.LoomClusterOptions), "SiloPort")]
    [InlineData("cluster", "gatewayPort", typeof(Loom.Silo.Hosting.LoomClusterOptions), "GatewayPort")]
    [InlineData("silo", "shutdownTimeoutSeconds", typeof(Loom.Silo.Hosting.LoomClusterOptions), "ShutdownTimeoutSeconds")]
    public void Schema_bounds_lie_within_the_options_validation(string section, string value, Type options, string property)
    {
        var schema = System.Text.Json.Nodes.JsonNode.Parse(ChartFiles.Read("helm", "loom", "values.schema.json"))!;
        var node = schema["properties"]![section]!["properties"]![value]!;
        var range = options.GetProperty(property)!.GetCustomAttributes(typeof(System.ComponentModel.DataAnnotations.RangeAttribute), false)
            .Cast<System.ComponentModel.DataAnnotations.RangeAttribute>().Single();
        Assert.True(node["minimum"] is not null && (double)node["minimum"]! >= Convert.ToDouble(range.Minimum),
            $"{section}.{value}: schema minimum {node["minimum"]} is below the code's {range.Minimum}");
        Assert.True(node["maximum"] is not null && (double)node["maximum"]! <= Convert.ToDouble(range.Maximum),
            $"{section}.{value}: schema maximum {node["maximum"]} is above the code's {range.Maximum}");
    }

    [Fact]
    public void Migration_job_is_a_hook_running_the_silo_image_with_migrate()
    {
        var job = File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, "migration-job.yaml"));
        // devPostgres: pre-upgrade only (its silos migrate on install); otherwise before install and upgrade. Never
        // post-install: under `helm --wait` that runs only once the silos are ready, and they cannot be without the schema.
        Assert.Contains("helm.sh/hook: {{ ternary \"pre-upgrade\" \"pre-install,pre-upgrade\" .Values.devPostgres.enabled }}", job, StringComparison.Ordinal);
        Assert.DoesNotContain(job.Split('\n'), l => l.Contains("helm.sh/hook:", StringComparison.Ordinal) && l.Contains("post-install", StringComparison.Ordinal));
        Assert.Contains("args: [\"migrate\"]", job, StringComparison.Ordinal);
        Assert.Contains(".Values.silo.image", job, StringComparison.Ordinal);
    }

    [Fact]
    public void With_dev_postgres_each_silo_migrates_in_an_init_container_before_it_starts()
    {
        var text = File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, "silo-deployment.yaml"));
        Assert.Contains("{{- if and .Values.migration.enabled .Values.devPostgres.enabled }}\n      # devPostgres only", text, StringComparison.Ordinal);

        var podSpec = PodSpec("silo-deployment.yaml");
        var init = (YamlMappingNode)Assert.Single(((YamlSequenceNode)podSpec["initContainers"]).Children);
        Assert.Equal("migrate", init["name"].ToString());
        Assert.Equal(new[] { "migrate" }, ((YamlSequenceNode)init["args"]).Children.Select(c => c.ToString()));
        // The migration Job's image and variables, on the read-only root filesystem with the pod's writable /tmp.
        var initBlock = text[text.IndexOf("initContainers:", StringComparison.Ordinal)..text.IndexOf("      containers:", StringComparison.Ordinal)];
        Assert.Contains("image: {{ include \"loom.image\" (dict \"ctx\" . \"image\" .Values.silo.image) }}", initBlock, StringComparison.Ordinal);
        Assert.Contains("{{- include \"loom.storageEnv\" . | nindent 12 }}", initBlock, StringComparison.Ordinal);
        Assert.Contains("{{- toYaml .Values.containerSecurityContext | nindent 12 }}", initBlock, StringComparison.Ordinal);
        Assert.Equal("/tmp", ((YamlMappingNode)((YamlSequenceNode)init["volumeMounts"]).Children[0])["mountPath"].ToString());
        Assert.True(EnvNames("migration-job.yaml").SetEquals(StorageEnvNames()), "the init container's variables are the Job's");
    }

    /// <summary>
    /// Kubernetes does not restart a pod when a Secret it reads changes: each Secret a Deployment's pods read has a
    /// revision value among the pod annotations, so raising it rolls them (docs/kubernetes.md, "Rotating secrets").
    /// </summary>
    [Theory]
    [InlineData("gateway-deployment.yaml", new[] { "auth", "redis" })]
    [InlineData("silo-deployment.yaml", new[] { "redis", "storage", "llm" })]
    public void Every_secret_a_deployment_reads_has_a_revision_that_rolls_its_pods(string template, string[] expected)
    {
        var text = TemplateWithIncludes(template);
        var sections = SecretValue().Matches(text)
            .Select(m => m.Groups[1].Value switch { "cache.redis" => "redis", "storage.readReplica" => "storage", var v => v })
            .ToHashSet(StringComparer.Ordinal);
        Assert.Equal(expected.Order(StringComparer.Ordinal), sections.Order(StringComparer.Ordinal));

        var annotations = (YamlMappingNode)((YamlMappingNode)Deployment(template)["spec"]["template"]["metadata"])["annotations"];
        var raw = File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, template));
        foreach (var section in sections)
        {
            Assert.True(annotations.Children.ContainsKey($"loom.io/{section}-revision"), $"{template}: no loom.io/{section}-revision annotation");
            Assert.Contains($"loom.io/{section}-revision: {{{{ .Values.{section}.revision | quote }}}}", raw, StringComparison.Ordinal);
            Assert.Equal("", (string?)ChartStructureTests.LoadValues()[section]!["revision"]);
        }
    }

    [Fact]
    public void Gateway_refuses_to_render_without_the_auth_secret()
    {
        // Not inside an if/with: the required call runs on every render, with a message saying what to give.
        var text = File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, "gateway-deployment.yaml"));
        var line = text.Split('\n').Single(l => l.Contains(".Values.auth.existingSecret", StringComparison.Ordinal));
        Assert.Matches(@"^\s+name: \{\{ required ""auth\.existingSecret is required: name a Secret with the gateways' API keys \(Loom__Auth__Keys__0__Owner, Loom__Auth__Keys__0__Sha256; docs/kubernetes\.md, Install\)\. Without keys a gateway refuses to serve on its pod address\."" \.Values\.auth\.existingSecret \}\}$", line);
        Assert.Equal(0, BlockDepthAt(text, text.IndexOf(line, StringComparison.Ordinal)));
        Assert.Matches(@"envFrom:\s+- secretRef:\s+name: \{\{ required", text);
        // The default leaves it empty, so an install that does not name the Secret stops there.
        Assert.Equal("", (string?)ChartStructureTests.LoadValues()["auth"]!["existingSecret"]);
    }

    [Fact]
    public void Gateway_is_a_redis_mode_client_that_gets_no_turn_settings()
    {
        // The chart's gateway is always an Orleans client (the cluster env fixes redis mode); only silos read Loom:Turns.
        Assert.Contains("include \"loom.clusterEnv\"", File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, "gateway-deployment.yaml")), StringComparison.Ordinal);
        Assert.Matches(@"define ""loom\.clusterEnv"" -\}\}\s+- name: Loom__Cluster__Mode\s+value: redis", File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, "_helpers.tpl")));
        Assert.DoesNotContain(EnvNames("gateway-deployment.yaml"), n => n.StartsWith("Loom__Turns__", StringComparison.Ordinal));
        Assert.DoesNotContain(".Values.turns", File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, "gateway-deployment.yaml")), StringComparison.Ordinal);
        Assert.Contains(EnvForm("Loom:Turns:MaxPending"), EnvNames("silo-deployment.yaml"));

        // And a redis-mode gateway composition binds no TurnOptions at all (an embedded one, co-hosting a silo, does).
        Assert.False(BindsTurnOptions("--Loom:Cluster:Mode=redis", "--Loom:Cluster:RedisConnectionString=127.0.0.1:6379"));
        Assert.True(BindsTurnOptions("--Loom:Cluster:Mode=embedded", "--Loom:Storage:Provider=sqlite",
            $"--Loom:Storage:SqlitePath={Path.Combine(Path.GetTempPath(), $"loom-unused-{Guid.NewGuid():N}.db")}"));
    }

    private static bool BindsTurnOptions(params string[] args)
    {
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateBuilder(new Microsoft.AspNetCore.Builder.WebApplicationOptions { Args = args });
        Loom.Gateway.Hosting.GatewayHostingExtensions.AddLoomGateway(builder);
        return builder.Services.Any(d => d.ServiceType == typeof(Microsoft.Extensions.Options.IConfigureOptions<Loom.Sessions.TurnOptions>));
    }

    private static YamlMappingNode Deployment(string template)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(ChartFiles.Destructure(File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, template)))));
        return (YamlMappingNode)stream.Documents.First(d => d.RootNode is YamlMappingNode { Children.Count: > 0 }).RootNode;
    }

    private static YamlMappingNode PodSpec(string template) => (YamlMappingNode)Deployment(template)["spec"]["template"]["spec"];

    private static string Helper(string name) =>
        Regex.Match(File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, "_helpers.tpl")),
            $@"define ""{Regex.Escape(name)}"".*?\n(.*?)\{{\{{- end -\}}\}}", RegexOptions.Singleline).Groups[1].Value;

    /// <summary>A template with the text of each helper it includes appended.</summary>
    private static string TemplateWithIncludes(string template)
    {
        var text = File.ReadAllText(Path.Combine(ChartFiles.TemplatesDir, template));
        return text + string.Concat(Include().Matches(text).Select(m => "\n" + Helper(m.Groups[1].Value)));
    }

    private static HashSet<string> StorageEnvNames() =>
        EnvName().Matches(Helper("loom.storageEnv")).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);

    /// <summary>How many if/with/range blocks are open at <paramref name="index"/> in a template.</summary>
    private static int BlockDepthAt(string text, int index) =>
        Regex.Matches(text[..index], @"\{\{-?\s*(if|with|range)\b").Count - Regex.Matches(text[..index], @"\{\{-?\s*end\b").Count;

    [GeneratedRegex(@"\.Values\.(auth|redis|storage|llm|cache\.redis|storage\.readReplica)\.(?:existingSecret|apiKeySecret)\b")]
    private static partial Regex SecretValue();

    // "- name: X" followed (possibly after template action lines) by "value:" or "valueFrom:".
    [GeneratedRegex(@"-\s+name:\s+([A-Za-z_][A-Za-z0-9_]*)\s*\n(?:[ \t]*\{\{[^\n]*\}\}[ \t]*\n)*\s+(?:value|valueFrom)\b")]
    private static partial Regex EnvName();

    [GeneratedRegex(@"include ""(loom\.[A-Za-z]+Env)""")]
    private static partial Regex Include();
}
