using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Loom.LoadTests.FakeLlm;
using Loom.LoadTests.Scenarios;

namespace Loom.Tests.LoadTests;

[Collection(TimingCollection.Name)]
public class FakeLlmServerTests
{
    private const string ChatBody = """{"model":"fake-model","stream":STREAM,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"You narrate."},{"role":"user","content":"I open the door."}]}""";

    private static StringContent Body(bool stream) => new(ChatBody.Replace("STREAM", stream ? "true" : "false"), Encoding.UTF8, "application/json");

    [Fact]
    public async Task A_turn_split_puts_the_model_between_the_clients_send_and_answer_on_one_clock()
    {
        // L = 300 ms from the request's arrival to its last chunk: the split's model part is L, the client's extra time
        // falls before or after it, and a request no turn sent (a summary) or a turn the model never saw is left out.
        var latency = TimeSpan.FromMilliseconds(300);
        await using var server = await FakeLlmServer.StartAsync(new FakeLlmBehaviour(latency, TimeSpan.FromMilliseconds(50), CompletionTokens: 12, Chunks: 3));
        using var http = new HttpClient();
        using var split = new TurnTimeSplit(server);

        var sent = Stopwatch.GetTimestamp();
        using (var response = await http.PostAsync(new Uri(server.BaseAddress + "/chat/completions"), Body(stream: true)))
        {
            response.EnsureSuccessStatusCode();
            await response.Content.ReadAsStringAsync();
        }
        // The engine's work after the model's last chunk, as the client sees it: at least 100 ms on the split's own clock
        // (a timer alone may fire a fraction early against the stopwatch; once 99.93 ms failed this test).
        var answered = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(answered) < TimeSpan.FromMilliseconds(100)) await Task.Delay(5);
        split.Record("I open the door.", sent, Stopwatch.GetTimestamp());
        split.Record("a turn the model never saw", sent, Stopwatch.GetTimestamp());

        var only = Assert.Single(split.Splits());
        Assert.InRange(only.ModelMs, 300, 1_300);
        Assert.InRange(only.AfterMs, 100, 1_100);
        Assert.InRange(only.BeforeMs, 0, 1_000);
        var table = TurnTimeSplit.Table(split.Splits(), "1 user")!;
        Assert.Equal(["before", "the", "after", "whole"], table.Rows.Select(r => r[0].Split(' ')[0]));
        Assert.Null(TurnTimeSplit.Table([], "nobody"));
        Assert.Null(TurnTimeSplit.ByTurn(split.Splits(), "turns without a user or number"));

        split.Dispose();
        Assert.Null(server.RequestArrived);
        Assert.Null(server.ChunkWritten);
    }

    [Fact]
    public void Turns_by_number_show_where_each_wave_queued_who_finished_last_and_whether_the_order_held()
    {
        // Two users, three turns each: user 2 waits 300 ms before the model on its first turn and stays behind user 1
        // in turn 2; in turn 3 user 1 waits 400 ms, is answered after user 2 and so finishes last.
        TurnTimeSplit.Split Turn(int user, int turn, double sent, double before, double after) =>
            new(before, 1_500, after) { User = user, Turn = turn, SentMs = sent, AnsweredMs = sent + before + 1_500 + after };
        var splits = new[]
        {
            Turn(1, 1, 0, 20, 10), Turn(2, 1, 5, 300, 45),
            Turn(1, 2, 1_530, 5, 15), Turn(2, 2, 1_850, 8, 12),
            Turn(1, 3, 3_050, 400, 100), Turn(2, 3, 3_370, 5, 5),
            new TurnTimeSplit.Split(1, 1_500, 1), // not numbered: left out
        };

        var table = TurnTimeSplit.ByTurn(splits, "2 users")!;

        Assert.Equal(["1", "2", "3", "users done"], table.Rows.Select(r => r[0]));
        Assert.Equal(["2", "2", "2", "2"], table.Rows.Select(r => r[1]));
        Assert.Equal("0 ms – 5.0 ms", table.Rows[0][2]);
        Assert.Equal("20.0 ms / 300.0 ms / 300.0 ms", table.Rows[0][3]);
        Assert.Equal("10.0 ms / 45.0 ms / 45.0 ms", table.Rows[0][4]);
        Assert.Equal("1.53 s – 1.85 s", table.Rows[1][2]);
        Assert.Equal("1.53 s – 1.85 s", table.Rows[0][5]);
        Assert.Equal("median 4.88 s, last 5.05 s", table.Rows[3][5]);
        // The order: none to compare with in turn 1, held in turn 2, reversed in turn 3.
        Assert.Equal(["–", "1.00", "-1.00", "–"], table.Rows.Select(r => r[6]));
        // User 1 finished last: 30, 20 and 500 ms outside the model, 550 ms in all.
        Assert.Equal(["30.0 ms", "20.0 ms", "500.0 ms", "550.0 ms"], table.Rows.Select(r => r[7]));
        Assert.Equal(8, table.Columns.Count);
    }

    [Fact]
    public async Task A_lateness_window_counts_each_streamed_answer_from_its_due_time_and_only_answers_after_it_opened()
    {
        await using var server = await FakeLlmServer.StartAsync(new FakeLlmBehaviour(TimeSpan.FromMilliseconds(120), TimeSpan.FromMilliseconds(20), CompletionTokens: 12, Chunks: 3));
        using var http = new HttpClient();
        async Task StreamOneAsync()
        {
            using var response = await http.PostAsync(new Uri(server.BaseAddress + "/chat/completions"), Body(stream: true));
            response.EnsureSuccessStatusCode();
            await response.Content.ReadAsStringAsync();
        }

        await StreamOneAsync(); // before the window: not counted
        var window = server.StartLatenessWindow();
        await StreamOneAsync();
        await StreamOneAsync();

        var late = window.Summarise(TimeSpan.FromSeconds(1));
        Assert.Equal(2, late.Ok);
        // Written at or after its due time (L = 120 ms), and on an idle machine well within a second of it.
        Assert.InRange(late.MaxMs, 0, 1000);
        Assert.Equal(0, server.StartLatenessWindow().Summarise(TimeSpan.FromSeconds(1)).Ok); // a new window starts empty
    }

    [Fact]
    public async Task Streaming_answer_is_openai_sse_with_usage_and_done()
    {
        await using var server = await FakeLlmServer.StartAsync(new FakeLlmBehaviour(TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(100), CompletionTokens: 20, Chunks: 4));
        using var http = new HttpClient();
        var clock = Stopwatch.StartNew();

        using var response = await http.PostAsync(new Uri(server.BaseAddress + "/chat/completions"), Body(stream: true));
        response.EnsureSuccessStatusCode();
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var events = new List<(TimeSpan At, string Data)>();
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.Length == 0) continue;
            Assert.StartsWith("data: ", line);
            events.Add((clock.Elapsed, line["data: ".Length..]));
        }

        Assert.Equal("[DONE]", events[^1].Data);
        var chunks = events.SkipLast(1).Select(e => JsonDocument.Parse(e.Data).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        var text = string.Concat(chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0)
            .Select(c => c.GetProperty("choices")[0].GetProperty("delta"))
            .Where(d => d.TryGetProperty("content", out _))
            .Select(d => d.GetProperty("content").GetString()));
        Assert.Equal(string.Concat(FakeNarrative.Chunks(20, 4, memoryBlock: true)), text);
        Assert.EndsWith("```", text);
        Assert.Contains("```loom-memory\n{\"ops\":[", text);
        Assert.Contains(chunks, c => c.GetProperty("choices").GetArrayLength() > 0 && c.GetProperty("choices")[0].GetProperty("finish_reason").GetString() == "stop");
        var usage = chunks[^1].GetProperty("usage");
        Assert.Equal(0, chunks[^1].GetProperty("choices").GetArrayLength());
        // Completion tokens are the whole answer's (narrative and memory block) as an o200k model counts them.
        Assert.Equal(FakeNarrative.CountTokens(FakeNarrative.Chunks(20, 4, memoryBlock: true)), usage.GetProperty("completion_tokens").GetInt32());
        Assert.InRange(usage.GetProperty("completion_tokens").GetInt32(), 21, 200);
        Assert.True(usage.GetProperty("prompt_tokens").GetInt32() > 0);

        // Timing: first token no earlier than the TTFT, last token no earlier than L (and not absurdly later).
        Assert.True(events[0].At >= TimeSpan.FromMilliseconds(95), $"first chunk at {events[0].At}");
        Assert.InRange(events[^1].At, TimeSpan.FromMilliseconds(295), TimeSpan.FromSeconds(3));
        Assert.Equal(1, server.StreamedRequests);
    }

    [Fact]
    public async Task Non_streaming_answer_is_a_chat_completion_after_the_latency()
    {
        await using var server = await FakeLlmServer.StartAsync(FakeLlmBehaviour.ForLatency(TimeSpan.FromMilliseconds(150)));
        using var http = new HttpClient();
        var clock = Stopwatch.StartNew();

        using var response = await http.PostAsync(new Uri(server.BaseAddress + "/chat/completions"), Body(stream: false));

        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(145));
        response.EnsureSuccessStatusCode();
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = doc.RootElement;
        Assert.Equal("chat.completion", root.GetProperty("object").GetString());
        Assert.Equal("fake-model", root.GetProperty("model").GetString());
        Assert.Equal("stop", root.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.StartsWith("The harbour lamps", root.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(FakeNarrative.CountTokens(FakeNarrative.Chunks(48, 8, memoryBlock: true)), root.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Latency_can_be_changed_while_running_and_malformed_requests_get_400()
    {
        await using var server = await FakeLlmServer.StartAsync(FakeLlmBehaviour.ForLatency(TimeSpan.FromSeconds(5)));
        server.Behaviour = FakeLlmBehaviour.ForLatency(TimeSpan.Zero);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };

        using var ok = await http.PostAsync(new Uri(server.BaseAddress + "/chat/completions"), Body(stream: true));
        using var bad = await http.PostAsync(new Uri(server.BaseAddress + "/chat/completions"), new StringContent("{\"model\":1}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.EndsWith("data: [DONE]\n\n", await ok.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(1, server.BadRequests);
        Assert.True(IPAddress.IsLoopback(IPAddress.Parse(server.BaseAddress.Host)));
    }

    [Fact]
    public void Chunk_schedule_spreads_chunks_between_first_token_and_latency()
    {
        var b = new FakeLlmBehaviour(TimeSpan.FromMilliseconds(1500), TimeSpan.FromMilliseconds(300), CompletionTokens: 40, Chunks: 5);

        Assert.Equal(TimeSpan.FromMilliseconds(300), b.ChunkDueAt(0));
        Assert.Equal(TimeSpan.FromMilliseconds(600), b.ChunkDueAt(1));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), b.ChunkDueAt(4));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), b.TotalTime);

        var paced = b with { TokensPerSecond = 80 }; // 8 tokens per chunk → 100 ms per chunk
        Assert.Equal(TimeSpan.FromMilliseconds(700), paced.ChunkDueAt(4));

        var instant = FakeLlmBehaviour.ForLatency(TimeSpan.Zero);
        Assert.Equal(TimeSpan.Zero, instant.TotalTime);
        Assert.Equal(TimeSpan.FromMilliseconds(200), FakeLlmBehaviour.ForLatency(TimeSpan.FromSeconds(1.5)).TimeToFirstToken);
    }

    [Fact]
    public void Narrative_chunks_cover_the_requested_token_count()
    {
        var chunks = FakeNarrative.Chunks(10, 3, memoryBlock: false);

        Assert.Equal(3, chunks.Count);
        Assert.Equal(10, string.Concat(chunks).Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task Anthropic_shape_streams_typed_events_with_usage()
    {
        await using var server = await FakeLlmServer.StartAsync(new FakeLlmBehaviour(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(10), CompletionTokens: 12, Chunks: 3));
        using var http = new HttpClient();
        const string body = """{"model":"fake-claude","max_tokens":512,"stream":true,"system":"You narrate.","messages":[{"role":"user","content":[{"type":"text","text":"I open the door."}]}]}""";

        using var response = await http.PostAsync(new Uri(server.Root, "v1/messages"), new StringContent(body, Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        var events = lines.Where(l => l.StartsWith("event: ", StringComparison.Ordinal)).Select(l => l["event: ".Length..]).ToList();
        Assert.Equal(["message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"], events);
        var data = lines.Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => JsonDocument.Parse(l["data: ".Length..]).RootElement).ToList();
        var text = string.Concat(data.Where(d => d.GetProperty("type").GetString() == "content_block_delta").Select(d => d.GetProperty("delta").GetProperty("text").GetString()));
        Assert.Equal(string.Concat(FakeNarrative.Chunks(12, 3, memoryBlock: true)), text);
        var usage = data.Single(d => d.GetProperty("type").GetString() == "message_delta").GetProperty("usage");
        Assert.Equal(FakeNarrative.CountTokens(FakeNarrative.Chunks(12, 3, memoryBlock: true)), usage.GetProperty("output_tokens").GetInt32());
        // The system prompt counts toward the prompt: "You narrate." + "I open the door." is 28 characters, about 7 tokens.
        Assert.Equal(7, usage.GetProperty("input_tokens").GetInt32());
        Assert.Equal(1, server.RequestsIn(FakeWireFormat.Anthropic));
        Assert.Equal(0, server.RequestsIn(FakeWireFormat.OpenAi));
    }

    [Fact]
    public async Task Ollama_shape_streams_ndjson_by_default_and_ends_with_counts()
    {
        await using var server = await FakeLlmServer.StartAsync(new FakeLlmBehaviour(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(10), CompletionTokens: 12, Chunks: 3));
        using var http = new HttpClient();
        const string body = """{"model":"fake-llama","messages":[{"role":"user","content":"I open the door."}]}""";

        using var response = await http.PostAsync(new Uri(server.Root, "api/chat"), new StringContent(body, Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        var objects = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement).ToList();

        Assert.All(objects.SkipLast(1), o => Assert.False(o.GetProperty("done").GetBoolean()));
        var final = objects[^1];
        Assert.True(final.GetProperty("done").GetBoolean());
        Assert.Equal(FakeNarrative.CountTokens(FakeNarrative.Chunks(12, 3, memoryBlock: true)), final.GetProperty("eval_count").GetInt32());
        Assert.Equal(4, final.GetProperty("prompt_eval_count").GetInt32());
        Assert.Equal(string.Concat(FakeNarrative.Chunks(12, 3, memoryBlock: true)),
            string.Concat(objects.Select(o => o.GetProperty("message").GetProperty("content").GetString())));
        Assert.Equal(1, server.RequestsIn(FakeWireFormat.Ollama));
    }
}
