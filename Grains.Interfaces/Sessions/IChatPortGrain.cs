using Loom.Security;
using Loom.Worlds;

namespace Loom.Sessions;

/// <summary>
/// Chat files in and out of sessions (stateless worker on the calling silo): parsing and mapping run here; the new
/// session is written by <see cref="ISessionGrain.Import"/> in one transaction, so the import's checks, quotas and
/// all-or-nothing write apply unchanged.
/// </summary>
public interface IChatPortGrain : IGrainWithIntegerKey
{
    /// <summary>A SillyTavern chat (<paramref name="format"/> <c>st-jsonl</c>) as a new session <paramref name="newSessionId"/> of <paramref name="worldId"/>.</summary>
    Task<SessionInfo> Import(Caller caller, string format, byte[] data, string worldId, string newSessionId);

    /// <summary>The session's live story as a chat file; <paramref name="actingOwnerId"/> is who may read the session.</summary>
    [ReadOnly] Task<ExportedFile> Export(string actingOwnerId, string sessionId, string format);
}
