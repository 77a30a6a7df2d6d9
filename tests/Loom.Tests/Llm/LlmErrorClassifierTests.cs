using Loom.Llm;

namespace Loom.Tests.Llm;

public sealed class LlmErrorClassifierTests
{
    [Fact]
    public void The_sdks_own_network_timeout_is_a_transient_timeout_not_a_failure()
    {
        // System.ClientModel (the OpenAI SDK) cancels a read that waited past its network timeout with a
        // TimeoutException inside; it races LOOM's own per-chunk timer (both are the request timeout). CI once saw this
        // classified as llm_failed (permanent), which would skip the retry and the fallback chain.
        var sdkTimeout = new TaskCanceledException("The operation was cancelled because it exceeded the configured timeout.",
            new TimeoutException("The operation has timed out."));

        foreach (var streamStarted in new[] { false, true })
        {
            var failure = LlmErrorClassifier.Classify(sdkTimeout, "openai", streamStarted);
            Assert.Equal((LlmErrorCodes.Timeout, true), (failure.Code, failure.Transient));
        }
        // A cancellation that is not a timeout stays what it was: not taken for one.
        Assert.Equal(LlmErrorCodes.Failed, LlmErrorClassifier.Classify(new OperationCanceledException("stopped"), "openai", true).Code);
    }
}
