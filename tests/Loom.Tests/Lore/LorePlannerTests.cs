using Loom.Llm;
using Loom.Lore;
using Loom.Prompt;
using Loom.Text;
using Microsoft.Extensions.Options;
using static Loom.Tests.Lore.LoreTestKit;

namespace Loom.Tests.Lore;

/// <summary>One test (or a few) per World Info setting: what fires, what does not, and where it goes.</summary>
public sealed class LorePlannerTests
{
    private static LorePlacement Plan(LoreBook book, string input, int seq = 1, params string[] earlierNewestFirst) =>
        Planner().Plan(book, Scan(seq, [input, .. earlierNewestFirst]));

    [Fact]
    public void Regex_keys_stop_matching_once_a_turn_has_spent_its_regex_budget_and_plain_keys_still_match()
    {
        var regex = LoreKey.TryParse("/drag(on|oon)/i", out _)!;
        var plain = LoreKey.TryParse("dragon", out _)!;
        var fresh = new LoreRegexBudget(LoreRegexBudget.PerTurn);
        Assert.True(regex.Matches("A Dragon lands.", caseSensitive: false, wholeWords: true, fresh));
        var spent = new LoreRegexBudget(TimeSpan.Zero);
        Assert.False(regex.Matches("A Dragon lands.", caseSensitive: false, wholeWords: true, spent));
        Assert.True(plain.Matches("A Dragon lands.", caseSensitive: false, wholeWords: true, spent));
    }

    [Fact]
    public void Plain_key_fires_case_insensitively_by_default_and_a_missing_key_does_not()
    {
        var book = Book(Entry("mira", "keys: [Mira, harbour girl]"), Entry("tower", "keys: [tower]"));
        var placement = Plan(book, "I wave to MIRA on the quay.");
        Assert.Equal(["mira"], placement.Names());
        Assert.Equal("Mira", placement.Fired[0].Key);
        Assert.Equal(LoreReasons.Key, placement.Fired[0].Reason);
    }

    [Fact]
    public void Case_sensitive_key_needs_the_exact_case()
    {
        var book = Book(Entry("may", "keys: [May]\ncaseSensitive: true"));
        Assert.Empty(Plan(book, "You may go.").Fired);
        Assert.Single(Plan(book, "May waits by the door.").Fired);
    }

    [Fact]
    public void Whole_words_do_not_match_inside_other_words()
    {
        var book = Book(Entry("cat", "keys: [cat]\nwholeWords: true"), Entry("catloose", "keys: [cat]"));
        Assert.Equal(["catloose"], Plan(book, "The catacombs are cold.").Names());
        Assert.Equal(["cat", "catloose"], Plan(book, "A cat, black as ink.").Names());
    }

    [Fact]
    public void Regex_keys_use_their_flags()
    {
        var book = Book(Entry("key", "keys: ['/silver\\s+key/i']"), Entry("exact", "keys: ['/^Gate$/m']"));
        Assert.Equal(["key"], Plan(book, "A SILVER   Key glints.").Names());
        Assert.Equal(["exact"], Plan(book, "open\nGate\nnow").Names());
        Assert.Empty(Plan(book, "The gate, the Gatehouse.").Fired);
    }

    [Theory]
    [InlineData("and_any", "the tide and the moon", true)]
    [InlineData("and_any", "the tide alone", false)]
    [InlineData("and_all", "the tide and the moon", false)]
    [InlineData("and_all", "the tide, the moon and the storm", true)]
    [InlineData("not_any", "the tide and the moon", false)]
    [InlineData("not_any", "the tide alone", true)]
    [InlineData("not_all", "the tide, the moon and the storm", false)]
    [InlineData("not_all", "the tide and the moon", true)]
    public void Secondary_key_logic(string logic, string input, bool fires)
    {
        var book = Book(Entry("tide", $"keys: [tide]\nsecondaryKeys: [moon, storm]\nlogic: {logic}"));
        Assert.Equal(fires, Plan(book, input).Fired.Count == 1);
    }

    [Fact]
    public void Constant_entries_fire_without_keys_and_disabled_entries_never()
    {
        var book = Book(Entry("always", "constant: true"), Entry("off", "keys: [quay]\nenabled: false"));
        var placement = Plan(book, "The quay is empty.");
        Assert.Equal(["always"], placement.Names());
        Assert.Equal(LoreReasons.Constant, placement.Fired[0].Reason);
    }

    [Fact]
    public void Scan_depth_limits_which_messages_are_read()
    {
        // Messages newest first: input, previous narrative, previous input.
        var book = Book(Entry("near", "keys: [lantern]"), Entry("far", "keys: [lantern]\nscanDepth: 3"));
        var placement = Plan(book, "I walk on.", 2, "The narrator speaks.", "I light the lantern.");
        Assert.Equal(["far"], placement.Names());

        var wide = new LoreBook { Entries = book.Entries, ScanDepth = 3 };
        Assert.Equal(["far", "near"], Planner().Plan(wide, Scan(2, ["I walk on.", "The narrator speaks.", "I light the lantern."])).Names());
    }

    [Fact]
    public void Probability_is_a_seeded_roll_reproducible_per_session_and_turn()
    {
        var book = Book(Entry("maybe", "keys: [bell]\nprobability: 50"));
        var fired = Enumerable.Range(1, 200).Select(seq => Plan(book, "A bell rings.", seq).Fired.Count).ToList();
        var again = Enumerable.Range(1, 200).Select(seq => Plan(book, "A bell rings.", seq).Fired.Count).ToList();
        Assert.Equal(fired, again);
        Assert.InRange(fired.Sum(), 70, 130); // about half of 200

        Assert.Empty(Plan(Book(Entry("never", "keys: [bell]\nprobability: 0")), "A bell rings.").Fired);
    }

    [Fact]
    public void Order_decides_the_budget_and_the_placement()
    {
        var text = string.Join(' ', Enumerable.Repeat("word", 40)); // about 40 tokens each
        var book = Book(
            Entry("low", "keys: [x]\norder: 1", "LOW " + text),
            Entry("mid", "keys: [x]\norder: 50", "MID " + text),
            Entry("high", "keys: [x]\norder: 99", "HIGH " + text));
        var placement = Planner(budget: 90).Plan(book, Scan(1, ["x"]));
        Assert.Equal(["high", "mid"], placement.Names());
        Assert.Equal(["lore/low.md"], placement.OverBudget);
        // Higher order sits later (nearer the story).
        Assert.True(placement.AfterCanon.IndexOf("MID", StringComparison.Ordinal) < placement.AfterCanon.IndexOf("HIGH", StringComparison.Ordinal));
        Assert.InRange(placement.Tokens, 80, 90 + PromptAssembler.MessageOverheadTokens);
    }

    [Fact]
    public void A_world_budget_lowers_the_configured_one()
    {
        var book = new LoreBook { Entries = [Entry("a", "keys: [x]", string.Join(' ', Enumerable.Repeat("word", 40)))], Tokens = 10 };
        var placement = Planner(budget: 1000).Plan(book, Scan(1, ["x"]));
        Assert.Empty(placement.Fired);
        Assert.Equal(["lore/a.md"], placement.OverBudget);
    }

    [Fact]
    public void Sticky_keeps_an_entry_for_its_turns_without_the_key()
    {
        var book = Book(Entry("storm", "keys: [storm]\nsticky: 2"));
        Assert.Equal(LoreReasons.Sticky, Planner().Plan(book, Scan(6, ["calm"], [Turn(5, Fired("storm"))])).Fired.Single().Reason);
        Assert.Single(Planner().Plan(book, Scan(7, ["calm"], [Turn(5, Fired("storm")), Turn(6, Fired("storm", LoreReasons.Sticky))])).Fired);
        Assert.Empty(Planner().Plan(book, Scan(8, ["calm"], [Turn(5, Fired("storm")), Turn(6, Fired("storm", LoreReasons.Sticky))])).Fired);
    }

    [Fact]
    public void Cooldown_blocks_an_entry_after_it_fired_and_after_its_sticky_turns()
    {
        var cool = Book(Entry("storm", "keys: [storm]\ncooldown: 2"));
        Assert.Empty(Planner().Plan(cool, Scan(6, ["storm"], [Turn(5, Fired("storm"))])).Fired);
        Assert.Empty(Planner().Plan(cool, Scan(7, ["storm"], [Turn(5, Fired("storm"))])).Fired);
        Assert.Single(Planner().Plan(cool, Scan(8, ["storm"], [Turn(5, Fired("storm"))])).Fired);

        var both = Book(Entry("storm", "keys: [storm]\nsticky: 1\ncooldown: 1"));
        Assert.Equal(LoreReasons.Sticky, Planner().Plan(both, Scan(6, ["storm"], [Turn(5, Fired("storm"))])).Fired.Single().Reason);
        Assert.Empty(Planner().Plan(both, Scan(7, ["storm"], [Turn(5, Fired("storm"))])).Fired);
        Assert.Equal(LoreReasons.Key, Planner().Plan(both, Scan(8, ["storm"], [Turn(5, Fired("storm"))])).Fired.Single().Reason);
    }

    [Fact]
    public void Delay_waits_for_enough_turns()
    {
        var book = Book(Entry("late", "keys: [door]\ndelay: 3"));
        Assert.Empty(Plan(book, "door", seq: 3).Fired);
        Assert.Single(Plan(book, "door", seq: 4).Fired);
    }

    [Fact]
    public void Recursion_follows_entry_text_up_to_the_world_depth()
    {
        var book = Book(
            Entry("a", "keys: [harbour]", "The harbour is run by the Guild."),
            Entry("b", "keys: [Guild]", "The Guild answers to the Countess."),
            Entry("c", "keys: [Countess]", "The Countess is old."));
        var all = Planner().Plan(book, Scan(1, ["to the harbour"]));
        Assert.Equal(["a", "b", "c"], all.Names());
        Assert.Equal(LoreReasons.Recursion, all.Fired.Single(f => f.Entry == "lore/b.md").Reason);
        Assert.Equal("Guild", all.Fired.Single(f => f.Entry == "lore/b.md").Key);

        var shallow = book with { RecursionDepth = 1 };
        Assert.Equal(["a", "b"], Planner().Plan(shallow, Scan(1, ["to the harbour"])).Names());
        Assert.Equal(["a"], Planner().Plan(book with { RecursionDepth = 0 }, Scan(1, ["to the harbour"])).Names());
    }

    [Fact]
    public void Non_recursable_and_prevent_recursion_stop_the_chain()
    {
        var excluded = Book(
            Entry("a", "keys: [harbour]", "The harbour is run by the Guild."),
            Entry("b", "keys: [Guild]\nexcludeRecursion: true", "Guild lore."));
        Assert.Equal(["a"], Planner().Plan(excluded, Scan(1, ["to the harbour"])).Names());
        Assert.Equal(["a", "b"], Planner().Plan(excluded, Scan(1, ["the harbour Guild"])).Names()); // the chat still fires it

        var prevented = Book(
            Entry("a", "keys: [harbour]\npreventRecursion: true", "The harbour is run by the Guild."),
            Entry("b", "keys: [Guild]", "Guild lore."));
        Assert.Equal(["a"], Planner().Plan(prevented, Scan(1, ["to the harbour"])).Names());
    }

    [Fact]
    public void Inclusion_group_keeps_one_entry_drawn_by_weight()
    {
        var book = Book(
            Entry("rain", "keys: [weather]\ngroup: sky\ngroupWeight: 1"),
            Entry("sun", "keys: [weather]\ngroup: sky\ngroupWeight: 99"),
            Entry("free", "keys: [weather]"));
        var wins = new Dictionary<string, int>();
        for (var seq = 1; seq <= 200; seq++)
        {
            var names = Plan(book, "the weather", seq).Names();
            Assert.Equal(2, names.Length);
            Assert.Contains("free", names);
            var winner = names.Single(n => n != "free");
            wins[winner] = wins.GetValueOrDefault(winner) + 1;
        }
        Assert.True(wins.GetValueOrDefault("sun") > 180, $"sun won {wins.GetValueOrDefault("sun")} of 200");
    }

    [Fact]
    public void A_sticky_group_member_keeps_its_group()
    {
        var book = Book(
            Entry("rain", "keys: [weather]\ngroup: sky\nsticky: 3\ngroupWeight: 1"),
            Entry("sun", "keys: [weather]\ngroup: sky\ngroupWeight: 1000000"));
        var placement = Planner().Plan(book, Scan(3, ["the weather"], [Turn(2, Fired("rain"))]));
        Assert.Equal(["rain"], placement.Names());
    }

    [Fact]
    public void Positions_before_and_after_canon_and_at_depth_with_roles()
    {
        var book = Book(
            Entry("before", "constant: true\nposition: before_canon", "BEFORE"),
            Entry("after", "constant: true", "AFTER"),
            Entry("deep", "constant: true\nposition: at_depth\ndepth: 2\nrole: assistant", "DEEP"),
            Entry("end", "constant: true\nposition: at_depth\ndepth: 0\nrole: system", "END"));
        var lore = Planner().Plan(book, Scan(3, ["go"]));
        var assembler = new PromptAssembler(Options.Create(new PromptOptions()), TiktokenCounter.Instance);
        var prompt = assembler.Assemble(new PromptRequest
        {
            CanonFiles = new Dictionary<string, string> { ["w.md"] = "# World\nW\n# Tone\nT\n", ["lore/x.md"] = "---\nconstant: true\n---\nNOT IN CANON\n" },
            Input = "go",
            History = [new PromptTurn("in1", "out1"), new PromptTurn("in2", "out2")],
            Memory = "Some memory line.",
            Lore = lore,
        });
        var shape = prompt.Messages.Select(m => $"{m.Role}:{(m.Content.Contains("CANON (") ? "canon" : m.Content.Contains("memory line") ? "context" : m.Content)}").ToArray();
        Assert.Equal(
            ["System:BEFORE", "System:canon", "System:AFTER", "System:context", "User:in1", "Assistant:out1", "User:in2", "Assistant:DEEP", "Assistant:out2", "User:go", "System:END"],
            shape);
        Assert.DoesNotContain(prompt.Messages, m => m.Content.Contains("NOT IN CANON", StringComparison.Ordinal));
        Assert.Equal(lore.Tokens, prompt.LoreTokens);
        Assert.Equal(LlmRole.System, prompt.Messages[0].Role);
    }

    [Fact]
    public void Entries_are_passed_verbatim()
    {
        const string text = "**Mira** keeps the *silver key*.\n\n- line one\n- line two  ";
        var lore = Planner().Plan(Book(Entry("mira", "keys: [Mira]", text)), Scan(1, ["Mira?"]));
        Assert.Equal(text.Trim('\n'), lore.AfterCanon);
    }
}
