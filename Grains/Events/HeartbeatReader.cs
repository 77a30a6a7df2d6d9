using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Loom.Events;

/// <summary>
/// Reads a watcher's channel for as long as it is open, yielding a heartbeat whenever <c>every</c> passes without an item:
/// Orleans drops an idle <see cref="IAsyncEnumerable{T}"/> enumerator after about the response timeout, and an SSE
/// connection with nothing on it is closed by proxies. Shared by every live stream (session, room, gateway fan-out).
/// </summary>
public static class HeartbeatReader
{
    public static async IAsyncEnumerable<T> ReadWithHeartbeatsAsync<T>(this ChannelReader<T> reader, TimeSpan every, Func<T> heartbeat,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            bool more;
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                wait.CancelAfter(every);
                try
                {
                    more = await reader.WaitToReadAsync(wait.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    more = true; // only the heartbeat's wait ran out
                }
            }
            if (!more) yield break;
            if (!reader.TryPeek(out _))
            {
                yield return heartbeat();
                continue;
            }
            while (reader.TryRead(out var item)) yield return item;
        }
    }
}
