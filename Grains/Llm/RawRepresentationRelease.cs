using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Loom.Llm;

/// <summary>
/// Lets go of each answer's provider objects (<see cref="ChatResponseUpdate.RawRepresentation"/> and its contents')
/// as soon as the provider client has turned them into Microsoft.Extensions.AI types. The GenAI telemetry middleware
/// above it keeps every update of a streamed answer until the answer ends; with the raw objects attached, each update
/// also kept the provider SDK's own graph (for OpenAI the SSE update, its choice and delta, JSON-patch state and raw
/// bytes: about 1 KB) for the whole model call. With a thousand answers streaming, that was about a tenth of what every
/// garbage collection had to copy (docs/performance.md, session 34). Nothing in LOOM reads the raw objects.
/// </summary>
internal sealed class RawRepresentationRelease(IChatClient inner) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var response = await base.GetResponseAsync(messages, options, cancellationToken);
        response.RawRepresentation = null;
        foreach (var message in response.Messages)
        {
            message.RawRepresentation = null;
            Release(message.Contents);
        }
        return response;
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var update in base.GetStreamingResponseAsync(messages, options, cancellationToken))
        {
            update.RawRepresentation = null;
            Release(update.Contents);
            yield return update;
        }
    }

    private static void Release(IList<AIContent> contents)
    {
        foreach (var content in contents) content.RawRepresentation = null;
    }
}
