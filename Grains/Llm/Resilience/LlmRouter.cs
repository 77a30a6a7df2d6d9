using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Registry;
using Polly.Timeout;

namespace Loom.Llm;

/// <summary>
/// Runs a narration call through the fallback chain: per provider a concurrency slot, then the provider's
/// Polly pipeline (retry → circuit breaker → attempt timeout) around opening the stream up to its first
/// token. Once text has streamed, the answer belongs to that provider: a later failure fails the call and
/// nothing is retried or spliced. Non-transient failures (400/401/403/404, refusals) end the chain at once.
/// </summary>
public sealed partial class LlmRouter(
    LlmStreamer streamer,
    ILlmClientFactory factory,
    LlmPricing pricing,
    LlmRouterMetrics metrics,
    ResiliencePipelineProvider<string> pipelines,
    IOptions<LlmOptions> options,
    ILogger<LlmRouter> logger) : IDisposable
{
    internal static readonly ResiliencePropertyKey<int> RetriesKey = new("loom.llm.retries");

    private readonly LlmResilienceOptions _resilience = options.Value.Resilience;
    private readonly ConcurrentDictionary<string, ConcurrencyLimiter> _limiters = new(StringComparer.Ordinal);

    public static string PipelineKey(string provider) => "loom-llm-" + provider;

    /// <summary>The session's provider, then the configured fallbacks that are usable here, without repeats.</summary>
    public IReadOnlyList<string> Chain(string provider) =>
        new[] { provider }.Concat(_resilience.Fallbacks.Where(factory.IsKnown)).Distinct(StringComparer.Ordinal).ToList();

    public async IAsyncEnumerable<LlmChunk> StreamAsync(LlmRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var chain = Chain(request.Provider);
        var retries = 0;
        LlmCallException? last = null;
        OpenedStream? opened = null;
        string? asked = null; // the model the answering attempt asked for (prices are set by that name)
        var fallbacks = 0;
        for (var i = 0; i < chain.Count && opened is null; i++)
        {
            var provider = chain[i];
            if (i > 0)
            {
                fallbacks++;
                metrics.Fallback(chain[i - 1], provider, last?.Code ?? "unknown");
                LogFallback(request.SessionId, chain[i - 1], provider, last?.Code);
            }

            var attempt = i == 0 ? request : request with { Provider = provider, Model = factory.DefaultModel(provider) };
            var (result, tried, failure) = await TryOpenAsync(attempt, cancellationToken);
            retries += tried;
            if (result is not null)
            {
                opened = result;
                asked = attempt.Model;
                break;
            }

            last = failure!;
            if (!last.Transient)
            {
                throw WithAttempts(last, retries, fallbacks);
            }
        }

        if (opened is null)
        {
            var overloaded = last?.Code == LlmErrorCodes.Overloaded;
            throw WithAttempts(overloaded
                ? last!
                : new LlmCallException(last?.Code ?? LlmErrorCodes.Failed,
                    $"Every narrator provider failed ({string.Join(" → ", chain)}); last: {last?.Message}", transient: true, last?.RetryAfter),
                retries, fallbacks);
        }

        await using (opened)
        {
            var chunk = opened.First;
            while (true)
            {
                if (chunk.Final)
                {
                    yield return Priced(chunk, asked, retries, fallbacks);
                    yield break;
                }

                yield return chunk;
                LlmCallException? broken = null;
                try
                {
                    if (!await opened.Updates.MoveNextAsync())
                    {
                        yield break;
                    }

                    chunk = opened.Updates.Current;
                }
                catch (LlmCallException failure)
                {
                    // After the first token there is no fallback: the turn fails rather than mixing two answers.
                    broken = failure;
                }

                if (broken is not null)
                {
                    metrics.AttemptFailed(opened.Provider, broken.Code);
                    throw WithAttempts(new LlmCallException(broken.Code, broken.Message, transient: false, broken.RetryAfter), retries, fallbacks);
                }
            }
        }
    }

    public void Dispose()
    {
        foreach (var limiter in _limiters.Values)
        {
            limiter.Dispose();
        }
    }

    /// <summary>One provider: a concurrency slot, then its pipeline until the first chunk. Never throws for provider faults.</summary>
    private async Task<(OpenedStream? Opened, int Retries, LlmCallException? Failure)> TryOpenAsync(LlmRequest request, CancellationToken cancellationToken)
    {
        var provider = request.Provider;
        var lease = await Limiter(provider).AcquireAsync(1, cancellationToken);
        if (!lease.IsAcquired)
        {
            lease.Dispose();
            metrics.AttemptFailed(provider, LlmErrorCodes.Overloaded);
            return (null, 0, new LlmCallException(LlmErrorCodes.Overloaded,
                $"{provider}: {_resilience.MaxConcurrency} calls running and {_resilience.QueueLimit} waiting on this silo.",
                transient: true, _resilience.OverloadRetryDelay));
        }

        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            var opened = await pipelines.GetPipeline(PipelineKey(provider)).ExecuteAsync(
                static (ctx, state) => state.Router.OpenAsync(state.Request, state.Lease, ctx.CancellationToken, state.Outer),
                context,
                (Router: this, Request: request, Lease: lease, Outer: cancellationToken));
            return (opened, context.Properties.GetValue(RetriesKey, 0), null);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested && exception is LlmCallException or BrokenCircuitException or IsolatedCircuitException or TimeoutRejectedException)
        {
            lease.Dispose();
            var failure = exception switch
            {
                LlmCallException call => call,
                TimeoutRejectedException => LlmErrorClassifier.Timeout(provider).ToException(),
                _ => new LlmCallException(LlmErrorCodes.CircuitOpen,
                    $"{provider}: circuit open after repeated failures; not called for now.", transient: true),
            };
            metrics.AttemptFailed(provider, failure.Code);
            return (null, context.Properties.GetValue(RetriesKey, 0), failure);
        }
        catch
        {
            lease.Dispose();
            throw;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>
    /// Starts the call and waits for its first chunk. The stream lives on past this attempt, so it gets its own
    /// token (cancelled by the caller, or by Polly's attempt timeout only while still opening).
    /// </summary>
    private async ValueTask<OpenedStream> OpenAsync(LlmRequest request, RateLimitLease lease, CancellationToken attemptToken, CancellationToken outer)
    {
        var lifetime = CancellationTokenSource.CreateLinkedTokenSource(outer);
        var updates = streamer.StreamAsync(request, lifetime.Token).GetAsyncEnumerator(lifetime.Token);
        try
        {
            await using (attemptToken.Register(static s => ((CancellationTokenSource)s!).Cancel(), lifetime))
            {
                if (!await updates.MoveNextAsync())
                {
                    throw new LlmCallException(LlmErrorCodes.StreamBroken, $"{request.Provider}: the answer was empty.", transient: true);
                }
            }

            attemptToken.ThrowIfCancellationRequested();
            return new OpenedStream(request.Provider, updates.Current, updates, lifetime, lease);
        }
        catch
        {
            await updates.DisposeAsync();
            lifetime.Dispose();
            throw;
        }
    }

    private ConcurrencyLimiter Limiter(string provider) => _limiters.GetOrAdd(provider, _ => new ConcurrencyLimiter(new ConcurrencyLimiterOptions
    {
        PermitLimit = _resilience.MaxConcurrency,
        QueueLimit = _resilience.QueueLimit,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
    }));

    private LlmChunk Priced(LlmChunk final, string? asked, int retries, int fallbacks)
    {
        // A cached answer cost nothing this time; its tokens still show what the turn contains.
        var cost = final.CacheHit ? 0m : pricing.Cost(final.Provider ?? "", [asked, final.Model], final.PromptTokens ?? 0, final.CompletionTokens ?? 0, final.CachedTokens ?? 0);
        metrics.Answered(final.Provider ?? "unknown", retries, fallbacks);
        return final with { CostUsd = cost, Retries = retries, Fallbacks = fallbacks };
    }

    private static LlmCallException WithAttempts(LlmCallException failure, int retries, int fallbacks) =>
        new(failure.Code, failure.Message, failure.Transient, failure.RetryAfter) { Retries = retries, Fallbacks = fallbacks };

    /// <summary>An answer that has produced its first chunk; holds the concurrency slot until disposed.</summary>
    private sealed class OpenedStream(string provider, LlmChunk first, IAsyncEnumerator<LlmChunk> updates,
        CancellationTokenSource lifetime, RateLimitLease lease) : IAsyncDisposable
    {
        public string Provider { get; } = provider;
        public LlmChunk First { get; } = first;
        public IAsyncEnumerator<LlmChunk> Updates { get; } = updates;

        public async ValueTask DisposeAsync()
        {
            try
            {
                await Updates.DisposeAsync();
            }
            finally
            {
                lifetime.Dispose();
                lease.Dispose();
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: narrator {From} failed ({Code}); falling back to {To}")]
    private partial void LogFallback(string? sessionId, string from, string to, string? code);
}
