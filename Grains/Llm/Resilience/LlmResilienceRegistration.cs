using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace Loom.Llm;

/// <summary>One Polly pipeline per provider (retry → circuit breaker → attempt timeout), registered by name.</summary>
internal static class LlmResilienceRegistration
{
    public static void AddLlmResiliencePipelines(this IServiceCollection services)
    {
        // Enriches Polly's telemetry (the "Polly" meter) with error types, from Microsoft.Extensions.Resilience.
        services.AddResilienceEnricher();
        foreach (var provider in LlmProviders.All)
        {
            services.AddResiliencePipeline(LlmRouter.PipelineKey(provider), (builder, context) =>
            {
                var options = context.ServiceProvider.GetRequiredService<IOptions<LlmOptions>>().Value.Resilience;
                Configure(builder, options);
            });
        }
    }

    internal static void Configure(ResiliencePipelineBuilder builder, LlmResilienceOptions options)
    {
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception switch
                {
                    // A Retry-After beyond our patience: better to ask the next provider now.
                    LlmCallException { Transient: true } e => e.RetryAfter is not { } wait || wait <= options.MaxRetryAfter,
                    TimeoutRejectedException => true,
                    _ => false,
                }),
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.MaxRetryAfter,
                // The provider's own Retry-After wins over our backoff.
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Exception is LlmCallException { RetryAfter: { } wait }
                    ? (TimeSpan?)wait
                    : null),
                OnRetry = args =>
                {
                    args.Context.Properties.Set(LlmRouter.RetriesKey, args.Context.Properties.GetValue(LlmRouter.RetriesKey, 0) + 1);
                    return ValueTask.CompletedTask;
                },
            });
        }

        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is LlmCallException { Transient: true } or TimeoutRejectedException),
            FailureRatio = options.BreakerFailureRatio,
            MinimumThroughput = options.BreakerMinimumThroughput,
            SamplingDuration = options.BreakerSamplingDuration,
            BreakDuration = options.BreakerBreakDuration,
        });
        builder.AddTimeout(options.AttemptTimeout);
    }
}
