namespace Loom.Sessions;

/// <summary>Names of a session's stored rows that more than the session itself reads.</summary>
public static class SessionRows
{
    /// <summary>The session's header (<see cref="SessionState"/>), the row every commit fences on.</summary>
    public const string Header = "session";
}
