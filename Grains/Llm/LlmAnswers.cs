using System.Diagnostics;
using System.Text;

namespace Loom.Llm;

/// <summary>Gathers a streamed answer into one <see cref="LlmAnswer"/> (the stream carries its own cancellation).</summary>
public static class LlmAnswers
{
    public static async Task<LlmAnswer> CollectAsync(IAsyncEnumerable<LlmChunk> chunks)
    {
        var started = Stopwatch.GetTimestamp();
        var text = new StringBuilder();
        TimeSpan? firstText = null;
        LlmChunk? final = null;
        await foreach (var chunk in chunks)
        {
            if (chunk.Text.Length > 0)
            {
                firstText ??= Stopwatch.GetElapsedTime(started);
                text.Append(chunk.Text);
            }
            if (chunk.Final) final = chunk with { Text = "" };
        }
        return new LlmAnswer { Text = text.ToString(), Final = final, FirstText = firstText };
    }
}
