using System.Collections.Concurrent;
using System.Diagnostics;
using Loom.Telemetry;
using Loom.Tests.Api;

namespace Loom.Tests.Telemetry;

/// <summary>
/// One trace per turn across the tiers: the HTTP request that submits a turn is the ancestor of the turn's span,
/// which holds the LLM call (with the Orleans call to the LLM grain under it) and the commit to storage.
/// Listens the way an OpenTelemetry tracer would (an ActivityListener on the same sources).
/// </summary>
public sealed class TracingTests(LoomAppFactory app) : IClassFixture<LoomAppFactory>
{
    [Fact]
    public async Task A_turn_is_traced_from_the_http_request_through_the_llm_to_the_commit()
    {
        var stopped = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is LoomTelemetry.ActivitySourceName or "Microsoft.AspNetCore"
                || source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Add,
        };
        ActivitySource.AddActivityListener(listener);

        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        var turnId = (await client.PlayAsync(sessionId, "I follow the lantern light."))["turnId"]!.GetValue<string>();

        // The turn span ends just after the commit that released the waiting request: wait for it.
        Activity? turn = null;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (turn is null && DateTime.UtcNow < deadline)
        {
            turn = stopped.FirstOrDefault(a => a.OperationName == TurnSpans.Turn && (string?)a.GetTagItem(TurnSpans.TurnIdTag) == turnId);
            if (turn is null)
            {
                await Task.Delay(50);
            }
        }

        Assert.NotNull(turn);
        var trace = stopped.Where(a => a.TraceId == turn.TraceId).ToList();
        Assert.Equal(sessionId, (string?)turn.GetTagItem(TurnSpans.SessionIdTag));

        // HTTP → ... → turn: the submitting request is in the same trace, and the turn span is not a root.
        Assert.NotEqual(default, turn.ParentSpanId);
        Assert.Contains(trace, a => a.Source.Name == "Microsoft.AspNetCore" && a.Kind == ActivityKind.Server);

        // turn → LLM (→ the Orleans call to the LLM grain) and turn → commit.
        var llm = Assert.Single(trace, a => a.OperationName == TurnSpans.Llm);
        Assert.Equal(turn.SpanId, llm.ParentSpanId);
        Assert.Contains(trace, a => a.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal) && a.ParentSpanId == llm.SpanId);
        var commit = Assert.Single(trace, a => a.OperationName == TurnSpans.Commit);
        Assert.Equal(turn.SpanId, commit.ParentSpanId);
        Assert.Equal(ActivityStatusCode.Unset, turn.Status);
    }
}
