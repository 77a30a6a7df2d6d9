using System.Security.Cryptography;

namespace Loom.Gateway.Auth;

/// <summary>
/// <c>Loom.Gateway keys add --owner NAME</c>: makes a new API key, prints it once and the SHA-256 hash to configure.
/// The gateway only ever stores the hash, so a lost key cannot be recovered, only replaced.
/// <c>keys hash</c> hashes a key read from standard input (to re-derive the configuration of an existing key).
/// </summary>
public static class KeysCommand
{
    public const int Success = 0;
    public const int Usage = 2;

    public static int Run(IReadOnlyList<string> args, TextReader input, TextWriter output, TextWriter error)
    {
        if (args.Count >= 1 && args[0] == "add")
        {
            var owner = Option(args, "--owner");
            if (owner is null || !IsValidOwner(owner))
            {
                error.WriteLine("keys add: --owner NAME is required (1-64 characters: letters, digits, '.', '_', '-', '@').");
                return Usage;
            }
            var index = Option(args, "--index") ?? "N";
            var key = NewKey();
            var hash = CallerResolver.Hash(key);
            output.WriteLine($"API key for '{owner}' (shown once; store it now, only its hash is kept):");
            output.WriteLine();
            output.WriteLine($"  {key}");
            output.WriteLine();
            output.WriteLine("Configure the gateway with (N = the next free index):");
            output.WriteLine($"  Loom__Auth__Keys__{index}__Owner={owner}");
            output.WriteLine($"  Loom__Auth__Keys__{index}__Sha256={hash}");
            return Success;
        }
        if (args.Count >= 1 && args[0] == "hash")
        {
            var key = input.ReadLine()?.Trim();
            if (string.IsNullOrEmpty(key))
            {
                error.WriteLine("keys hash: write the key on standard input.");
                return Usage;
            }
            output.WriteLine(CallerResolver.Hash(key));
            return Success;
        }
        error.WriteLine("usage: Loom.Gateway keys add --owner NAME [--index N]   (prints a new key once and its SHA-256)");
        error.WriteLine("       Loom.Gateway keys hash < key.txt                (prints the SHA-256 of an existing key)");
        return Usage;
    }

    /// <summary>256 random bits, URL-safe, with a prefix that secret scanners and humans recognise.</summary>
    public static string NewKey() =>
        "loom_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string? Option(IReadOnlyList<string> args, string name)
    {
        for (var i = 1; i < args.Count; i++)
        {
            if (args[i] == name && i + 1 < args.Count) return args[i + 1];
            if (args[i].StartsWith(name + "=", StringComparison.Ordinal)) return args[i][(name.Length + 1)..];
        }
        return null;
    }

    private static bool IsValidOwner(string owner) =>
        owner.Length is >= 1 and <= 64 && owner.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '@');
}
