using Microsoft.Extensions.Options;

namespace Loom.Silo.Hosting;

/// <summary>
/// A start refused for its configuration ends with one readable line per fault on stderr and exit code
/// <see cref="ExitCode"/>, not an unhandled exception with a stack trace: the operator's fix is a setting, not code.
/// </summary>
public static class ConfigurationErrors
{
    public const int ExitCode = 2;

    /// <summary>The faults <paramref name="exception"/> reports when it is a configuration refusal; otherwise null.</summary>
    public static IReadOnlyList<string>? Describe(Exception exception) => exception switch
    {
        OptionsValidationException invalid => [.. invalid.Failures],
        AggregateException many when many.InnerExceptions.Count > 0 && many.InnerExceptions.All(e => Describe(e) is not null) =>
            [.. many.InnerExceptions.SelectMany(e => Describe(e)!)],
        // The configuration binder's only sign of a value of the wrong type ("abc" for a number) is this message.
        InvalidOperationException { InnerException: not null } binding
            when binding.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal) => [binding.Message],
        _ => null,
    };

    /// <summary>Writes the refusal for the operator and returns the process's exit code.</summary>
    public static int Report(IReadOnlyList<string> faults, TextWriter error)
    {
        error.WriteLine("LOOM cannot start: the configuration is invalid.");
        foreach (var fault in faults) error.WriteLine("  - " + fault);
        return ExitCode;
    }

    /// <summary>True when a start failed because another process listens on one of our addresses (Kestrel's bind).</summary>
    public static bool AddressInUse(Exception exception)
    {
        for (var inner = exception.InnerException; inner is not null; inner = inner.InnerException)
            if (inner is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse }) return true;
        return false;
    }

    /// <summary>
    /// An address another process holds (often a LOOM already running) is the operator's to free or change, like a
    /// setting: one line saying which address and what to do, the same exit code, no stack trace.
    /// </summary>
    public static int ReportAddressInUse(Exception bind, TextWriter error) => ReportAddressInUseMessage(bind.Message, error);

    /// <summary>The same report for an address found taken before the bind (Kestrel's wording).</summary>
    public static int ReportAddressInUse(string url, TextWriter error) =>
        ReportAddressInUseMessage($"Failed to bind to address {url}: address already in use.", error);

    private static int ReportAddressInUseMessage(string message, TextWriter error)
    {
        error.WriteLine($"LOOM cannot start: {message}");
        error.WriteLine("  Another process is listening there (perhaps LOOM itself): stop it, or give this one another address "
            + "(--urls or ASPNETCORE_URLS, or its Kestrel:Endpoints entry).");
        return ExitCode;
    }

    /// <summary>Runs the options validation the host would run at start (every ValidateOnStart registration) now.</summary>
    public static void ValidateNow(IServiceProvider services) => services.GetService<IStartupValidator>()?.Validate();
}
