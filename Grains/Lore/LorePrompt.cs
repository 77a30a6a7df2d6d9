using Loom.Llm;

namespace Loom.Lore;

/// <summary>Puts a <see cref="LorePlacement"/> into an assembled message list.</summary>
public static class LorePrompt
{
    /// <param name="messages">[canon system message] [context messages] [history…] [player input].</param>
    /// <param name="contextMessages">How many system messages follow the canon message before the chat starts.</param>
    public static void Place(List<LlmMessage> messages, LorePlacement lore, int contextMessages)
    {
        if (lore.IsEmpty) return;
        var chatStart = 1 + contextMessages;
        // Deepest first, each counted from the end as the list stands, so equal depths keep their order.
        foreach (var message in lore.AtDepth)
        {
            var at = Math.Max(chatStart, messages.Count - message.Depth);
            messages.Insert(at, new LlmMessage { Role = RoleOf(message.Role), Content = message.Text });
        }
        if (lore.AfterCanon.Length > 0) messages.Insert(1, new LlmMessage { Role = LlmRole.System, Content = lore.AfterCanon });
        if (lore.BeforeCanon.Length > 0) messages.Insert(0, new LlmMessage { Role = LlmRole.System, Content = lore.BeforeCanon });
    }

    private static LlmRole RoleOf(LoreRole role) => role switch
    {
        LoreRole.User => LlmRole.User,
        LoreRole.Assistant => LlmRole.Assistant,
        _ => LlmRole.System,
    };
}
