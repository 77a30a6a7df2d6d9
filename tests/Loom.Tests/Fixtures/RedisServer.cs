using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Loom.Tests.Fixtures;

/// <summary>
/// A throw-away redis-server on a free loopback port with append-only persistence in a temp directory, so
/// <see cref="RestartAsync"/> keeps the data (as production Redis must, for Orleans membership). Disposing stops it
/// and deletes the directory. Needs redis-server (apt-get install -y redis-server).
/// </summary>
public sealed class RedisServer : IAsyncLifetime
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(20);
    private readonly StringBuilder _log = new();
    private string? _root;
    private Process? _process;

    public int Port { get; private set; }

    /// <summary>Optional <c>requirepass</c>, as production Redis runs (and to prove it never reaches a log).</summary>
    public string? Password { get; init; }

    /// <summary>StackExchange.Redis configuration string.</summary>
    public string ConnectionString => Password is null ? $"127.0.0.1:{Port}" : $"127.0.0.1:{Port},password={Password}";

    public async Task InitializeAsync()
    {
        _root = Directory.CreateTempSubdirectory("loom-redis-").FullName;
        Port = FreePort.Next();
        try
        {
            await StartAsync();
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>Clean shutdown (SIGTERM flushes the append-only file) and start again on the same port and directory.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAsync();
    }

    /// <summary>
    /// Stops and starts again on the same port with nothing stored: what a Redis without persistence, or one failed over
    /// to an empty replica, looks like to its clients.
    /// </summary>
    public async Task RestartEmptyAsync()
    {
        await StopAsync();
        foreach (var entry in new DirectoryInfo(_root!).EnumerateFileSystemInfos())
        {
            if (entry is DirectoryInfo directory) directory.Delete(recursive: true); else entry.Delete();
        }
        await StartAsync();
    }

    /// <summary>Sends one command and returns the first reply line (e.g. "+PONG", "$5"), for probes and tests.</summary>
    public async Task<string> SendAsync(params string[] arguments)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", Port);
        await using var stream = client.GetStream();
        using var reader = new StreamReader(stream, Encoding.UTF8);
        if (Password is not null)
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes($"*2\r\n$4\r\nAUTH\r\n${Encoding.UTF8.GetByteCount(Password)}\r\n{Password}\r\n"));
            var auth = await reader.ReadLineAsync() ?? "";
            if (auth != "+OK") return auth;
        }
        var request = new StringBuilder($"*{arguments.Length}\r\n");
        foreach (var argument in arguments)
        {
            request.Append($"${Encoding.UTF8.GetByteCount(argument)}\r\n{argument}\r\n");
        }
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()));
        var first = await reader.ReadLineAsync() ?? "";
        // Bulk string: return its payload instead of the length line.
        return first.StartsWith('$') && first != "$-1" ? await reader.ReadLineAsync() ?? "" : first;
    }

    public async Task DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            if (_root is not null && Directory.Exists(_root))
            {
                Directory.Delete(_root, recursive: true);
            }
            _root = null;
        }
    }

    public string Log()
    {
        lock (_log)
        {
            return _log.ToString();
        }
    }

    public async Task StartAsync()
    {
        var info = new ProcessStartInfo(FindRedisServer());
        foreach (var argument in (string[])["--port", Port.ToString(), "--bind", "127.0.0.1", "--dir", _root!,
                     "--appendonly", "yes", "--save", "", "--daemonize", "no", "--protected-mode", "no"])
        {
            info.ArgumentList.Add(argument);
        }
        if (Password is not null)
        {
            info.ArgumentList.Add("--requirepass");
            info.ArgumentList.Add(Password);
        }
        _process = ChildProcesses.Start(info, line => { lock (_log) { _log.AppendLine(line); } });

        var deadline = DateTime.UtcNow + StartDeadline;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            if (ChildProcesses.HasExited(_process))
            {
                throw new InvalidOperationException($"redis-server exited during start-up.\n{Log()}");
            }
            try
            {
                // While loading the append-only file Redis answers -LOADING; only +PONG means ready.
                if (await SendAsync("PING") == "+PONG")
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException)
            {
                last = ex;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"redis-server did not answer PING within {StartDeadline}: {last?.Message}\n{Log()}");
    }

    /// <summary>Stops the server (SIGTERM); <see cref="StartAsync"/> starts it again on the same port and directory.</summary>
    public async Task StopAsync()
    {
        if (_process is null)
        {
            return;
        }
        var process = _process;
        _process = null;
        try
        {
            ChildProcesses.Terminate(process);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(cts.Token);
        }
        catch (Exception)
        {
            ChildProcesses.Kill(process);
        }
        finally
        {
            process.Dispose();
        }
    }

    private static string FindRedisServer()
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Append("/usr/bin"))
        {
            var candidate = Path.Combine(directory, "redis-server");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new InvalidOperationException("redis-server not found on PATH (apt-get install -y redis-server).");
    }
}
