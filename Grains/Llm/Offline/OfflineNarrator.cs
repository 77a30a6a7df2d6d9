using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Loom.Text;
using Microsoft.Extensions.AI;

namespace Loom.Llm.Offline;

/// <summary>
/// The built-in narrator: no network, deterministic for the same messages, streamed in word groups. It follows
/// the same memory protocol as real models, so the whole turn pipeline runs end to end without an API key.
/// </summary>
public sealed partial class OfflineNarrator(ITokenCounter tokenCounter, TimeSpan chunkDelay) : IChatClient
{
    public OfflineNarrator(ITokenCounter tokenCounter) : this(tokenCounter, TimeSpan.Zero)
    {
    }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var list = messages.ToList();
        return Task.Run(() =>
        {
            var text = OfflineStoryteller.Compose(list).FullText;
            return new ChatResponse(new ChatMessage(ChatRole.Assistant, text))
            {
                ModelId = ModelOf(options),
                FinishReason = ChatFinishReason.Stop,
                Usage = Usage(list, text),
            };
        }, cancellationToken);
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var list = messages.ToList();
        var (chunks, usage) = await Task.Run(() => Compose(list), cancellationToken);
        var model = ModelOf(options);
        var first = true;

        foreach (var chunk in chunks)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!first && chunkDelay > TimeSpan.Zero)
            {
                await Task.Delay(chunkDelay, cancellationToken);
            }

            first = false;
            yield return new ChatResponseUpdate(ChatRole.Assistant, chunk) { ModelId = model };
        }

        yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(usage)])
        {
            ModelId = model,
            FinishReason = ChatFinishReason.Stop,
        };
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        if (serviceKey is null && serviceType == typeof(ChatClientMetadata))
        {
            return new ChatClientMetadata(LlmProviders.Offline, null, LlmProviders.OfflineModel);
        }

        return serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;
    }

    public void Dispose()
    {
    }

    /// <summary>
    /// The answer in chunks, and its usage. Composing, and counting a long prompt's tokens, is CPU work of milliseconds
    /// (far more on a busy or freshly started silo), so callers run it on the thread pool: the LLM worker that streams
    /// this answer is one activation per silo, and its scheduler would otherwise hold every other session's stream
    /// until it is done.
    /// </summary>
    private (List<string> Chunks, UsageDetails Usage) Compose(List<ChatMessage> messages)
    {
        var answer = OfflineStoryteller.Compose(messages);
        var chunks = WordGroups(answer.Narrative, answer.Random).ToList();
        if (answer.MemoryBlock.Length > 0)
        {
            // The block goes out whole so a consumer that hides it from live deltas sees the fence in one piece.
            chunks.Add("\n\n" + answer.MemoryBlock);
        }

        return (chunks, Usage(messages, answer.FullText));
    }

    private static string ModelOf(ChatOptions? options) =>
        string.IsNullOrWhiteSpace(options?.ModelId) ? LlmProviders.OfflineModel : options.ModelId;

    private UsageDetails Usage(IReadOnlyList<ChatMessage> messages, string completion)
    {
        long input = messages.Sum(m => (long)tokenCounter.Count(m.Text));
        long output = tokenCounter.Count(completion);
        return new UsageDetails { InputTokenCount = input, OutputTokenCount = output, TotalTokenCount = input + output };
    }

    /// <summary>Groups of 2–5 words with their trailing whitespace, so the chunks concatenate to the exact text.</summary>
    private static IEnumerable<string> WordGroups(string text, DeterministicRandom random)
    {
        var words = WordWithSpace().Matches(text).Select(m => m.Value).ToList();
        var leading = text.Length - text.TrimStart().Length;
        var prefix = text[..leading];
        for (var i = 0; i < words.Count;)
        {
            var size = Math.Min(random.Between(2, 5), words.Count - i);
            var chunk = string.Concat(words.Skip(i).Take(size));
            yield return i == 0 ? prefix + chunk : chunk;
            i += size;
        }
    }

    [GeneratedRegex(@"\S+\s*")]
    private static partial Regex WordWithSpace();
}
