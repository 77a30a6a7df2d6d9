using System.Text;

namespace Loom.Llm;

/// <summary>Which <see cref="ILlmGrain"/> key a caller uses: up to <see cref="Spread"/> activations per silo.</summary>
public static class LlmGrainKeys
{
    public const int Spread = 64;

    /// <summary>A stable key in [0, <see cref="Spread"/>) for a session (FNV-1a; string.GetHashCode varies per process).</summary>
    public static long For(string sessionId)
    {
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(sessionId))
        {
            hash = (hash ^ b) * 16777619u;
        }

        return hash % Spread;
    }
}
