using System.Text.Json;
using System.Text.Json.Serialization;

namespace Loom.Cli.Config;

/// <summary>The saved gateway and key (<c>loom login</c>), read when neither flags nor environment name them.</summary>
public sealed record Profile(string? Url, string? Key)
{
    /// <summary><c>$LOOM_PROFILE</c>, else <c>$XDG_CONFIG_HOME/loom/profile.json</c>, else <c>~/.config/loom/profile.json</c>.</summary>
    public static string DefaultPath()
    {
        var explicitPath = Environment.GetEnvironmentVariable("LOOM_PROFILE");
        if (!string.IsNullOrEmpty(explicitPath)) return explicitPath;
        var config = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME");
        if (string.IsNullOrEmpty(config))
            config = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        return Path.Combine(config, "loom", "profile.json");
    }

    /// <summary>Lines typed in <c>loom play</c>, kept beside the profile.</summary>
    public static string HistoryPath() => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(DefaultPath()))!, "history");

    public static Profile? Load(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(path), ProfileJson.Default.Profile);
        }
        catch (JsonException e)
        {
            throw CliException.Usage($"The profile {path} is not valid JSON ({e.Message}); fix it or run 'loom login' again.");
        }
    }

    /// <summary>Written readable by the user alone: it holds an API key.</summary>
    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(path, options))
        {
            JsonSerializer.Serialize(stream, this, ProfileJson.Default.Profile);
        }
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Profile))]
internal sealed partial class ProfileJson : JsonSerializerContext;
