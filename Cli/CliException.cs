namespace Loom.Cli;

/// <summary>A failure the command line reports in one line (no stack trace) and exits with <see cref="ExitCode"/>.</summary>
public class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    public static CliException Usage(string message) => new(ExitCodes.Usage, message);
}
