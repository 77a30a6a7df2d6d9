using System.Runtime.CompilerServices;
using System.Text;
using Loom.Errors;
using Loom.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Loom.Llm;

/// <summary>
/// Runs one narration call: maps the request onto Microsoft.Extensions.AI, streams text deltas, enforces the
/// per-chunk timeout, classifies failures and reports usage (estimated with the tokenizer when the provider
/// reports none). Orleans-free so it can be tested and reused directly; <see cref="LlmGrain"/> hosts it.
/// </summary>
public sealed partial class LlmStreamer(
    ILlmClientFactory factory,
    ITokenCounter tokenCounter,
    IOptions<LlmOptions> options,
    ILogger<LlmStreamer> logger)
{
    private readonly TimeSpan _timeout = options.Value.RequestTimeout;

    public async IAsyncEnumerable<LlmChunk> StreamAsync(LlmRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        IChatClient client;
        string model;
        try
        {
            client = factory.GetClient(request.Provider);
            model = string.IsNullOrWhiteSpace(request.Model) ? factory.DefaultModel(request.Provider) : request.Model;
        }
        catch (LoomProblemException problem)
        {
            throw new LlmCallException(LlmErrorCodes.ProviderUnknown, problem.Detail, transient: false);
        }

        var messages = request.Messages.Select(ToChatMessage).ToList();
        var chatOptions = new ChatOptions
        {
            ModelId = model,
            Temperature = LlmProviders.TemperatureFor(request.Provider, request.Temperature) is { } t ? (float)t : null,
            MaxOutputTokens = request.MaxTokens,
        };

        LogStarting(request.Provider, model, request.SessionId, messages.Count);
        var started = DateTime.UtcNow;
        var text = new StringBuilder();
        UsageDetails? usage = null;
        string? finishReason = null;
        string? reportedModel = null;
        var streamStarted = false;
        var cacheHit = false;

        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(_timeout);
        var updates = client.GetStreamingResponseAsync(messages, chatOptions, attempt.Token).GetAsyncEnumerator(attempt.Token);
        try
        {
            while (true)
            {
                ChatResponseUpdate update;
                try
                {
                    if (!await updates.MoveNextAsync())
                    {
                        break;
                    }

                    update = updates.Current;
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }
                catch (Exception exception)
                {
                    // Any other cancellation is a timeout: ours, or the SDK's network timeout racing it.
                    var failure = attempt.IsCancellationRequested || exception is OperationCanceledException
                        ? LlmErrorClassifier.Timeout(request.Provider)
                        : LlmErrorClassifier.Classify(exception, request.Provider, streamStarted);
                    LogFailed(request.Provider, model, request.SessionId, failure.Code, failure.Transient, streamStarted, failure.Message);
                    throw failure.ToException();
                }

                // A provider that keeps talking is alive: the timeout bounds the wait for each piece.
                attempt.CancelAfter(_timeout);
                reportedModel = update.ModelId ?? reportedModel;
                finishReason = update.FinishReason?.Value ?? finishReason;
                cacheHit |= update.AdditionalProperties?.ContainsKey(LoomResponseCache.HitProperty) == true;
                foreach (var usageContent in update.Contents.OfType<UsageContent>())
                {
                    usage ??= new UsageDetails();
                    usage.Add(usageContent.Details);
                }

                var delta = update.Text;
                if (!string.IsNullOrEmpty(delta))
                {
                    streamStarted = true;
                    text.Append(delta);
                    yield return new LlmChunk { Text = delta };
                }
            }
        }
        finally
        {
            await updates.DisposeAsync();
        }

        if (finishReason == ChatFinishReason.ContentFilter.Value)
        {
            // A refusal is an answer about the content: another attempt or provider would only repeat it.
            LogFailed(request.Provider, model, request.SessionId, LlmErrorCodes.ContentRefused, false, streamStarted, "content filter");
            throw new LlmCallException(LlmErrorCodes.ContentRefused,
                $"{request.Provider} declined to write this turn (content policy).", transient: false);
        }

        if (text.Length == 0)
        {
            throw new LlmCallException(LlmErrorCodes.StreamBroken, $"{request.Provider}: the answer was empty.", transient: true);
        }

        var reported = usage is { InputTokenCount: not null } || usage is { OutputTokenCount: not null };
        var promptTokens = reported ? usage!.InputTokenCount : request.Messages.Sum(m => (long)tokenCounter.Count(m.Content));
        var completionTokens = reported ? usage!.OutputTokenCount : tokenCounter.Count(text.ToString());
        LogCompleted(request.Provider, model, request.SessionId, promptTokens, completionTokens, !reported,
            (long)(DateTime.UtcNow - started).TotalMilliseconds);

        yield return new LlmChunk
        {
            Final = true,
            PromptTokens = promptTokens,
            CompletionTokens = completionTokens,
            CachedTokens = reported ? usage!.CachedInputTokenCount : null,
            UsageEstimated = !reported,
            Provider = request.Provider,
            Model = reportedModel ?? model,
            FinishReason = finishReason,
            CacheHit = cacheHit,
        };
    }

    /// <summary>A prompt message as Microsoft.Extensions.AI carries it to a provider.</summary>
    public static ChatMessage ToChatMessage(LlmMessage message) => new(message.Role switch
    {
        LlmRole.System => ChatRole.System,
        LlmRole.Assistant => ChatRole.Assistant,
        _ => ChatRole.User,
    }, message.Content);

    [LoggerMessage(Level = LogLevel.Debug, Message = "LLM call to {Provider}/{Model} for session {SessionId} with {MessageCount} messages")]
    private partial void LogStarting(string provider, string model, string? sessionId, int messageCount);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "LLM call to {Provider}/{Model} for session {SessionId} done: {PromptTokens} prompt + {CompletionTokens} completion tokens (estimated: {Estimated}) in {ElapsedMs} ms")]
    private partial void LogCompleted(string provider, string model, string? sessionId, long? promptTokens, long? completionTokens, bool estimated, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "LLM call to {Provider}/{Model} for session {SessionId} failed: {Code} (transient: {Transient}, after first token: {StreamStarted}): {Detail}")]
    private partial void LogFailed(string provider, string model, string? sessionId, string code, bool transient, bool streamStarted, string detail);
}
