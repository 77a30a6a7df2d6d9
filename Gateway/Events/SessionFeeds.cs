using System.Text.Json;
using System.Threading.Channels;
using Loom.Errors;
using Loom.Events;
using Loom.Sessions;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Loom.Gateway.Events;

/// <summary>
/// One live subscription to a session's events per gateway process, fanned out to every SSE connection this process holds
/// for it. Five members of a shared session watching through one gateway cost the session one enumerator (one grain
/// message per event) instead of five, and each event is rendered to SSE text once. A feed lives while it has watchers;
/// if its enumeration breaks (the session moved or was reactivated) it resubscribes from the last id it saw. What a
/// watcher missed before it attached comes from <see cref="ISessionGrain.Catchup"/>, which the endpoint calls after
/// <see cref="AttachAsync"/>, so no event falls between the two.
/// </summary>
public sealed partial class SessionFeeds(IGrainFactory grains, IOptions<JsonOptions> json, ILogger<SessionFeeds> logger)
{
    private const int WatcherBuffer = 4096;
    private static readonly TimeSpan ResubscribeDelay = TimeSpan.FromMilliseconds(500);
    private readonly IGrainFactory _grains = grains;
    private readonly JsonSerializerOptions _json = json.Value.SerializerOptions;
    private readonly ILogger _logger = logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<(string SessionId, string OwnerId), Feed> _feeds = [];

    /// <summary>Number of feeds open now (one per watched session and owner).</summary>
    public int Count { get { lock (_lock) return _feeds.Count; } }

    /// <summary>
    /// Adds a watcher to the session's feed (opening it under <paramref name="ownerId"/> when there is none) and answers once
    /// the feed's subscription is in place; the session's 404 when <paramref name="ownerId"/> is not its owner.
    /// </summary>
    public async Task<Watcher> AttachAsync(string sessionId, string ownerId, CancellationToken cancellationToken)
    {
        Feed feed;
        Watcher watcher;
        lock (_lock)
        {
            if (!_feeds.TryGetValue((sessionId, ownerId), out feed!))
            {
                feed = new Feed(this, sessionId, ownerId);
                _feeds[(sessionId, ownerId)] = feed;
                feed.Start();
            }
            watcher = new Watcher(feed);
            feed.Watchers.Add(watcher);
        }
        try
        {
            await feed.Ready.WaitAsync(cancellationToken);
        }
        catch
        {
            watcher.Dispose();
            throw;
        }
        return watcher;
    }

    private void Detach(Watcher watcher)
    {
        Feed feed = watcher.Feed;
        lock (_lock)
        {
            if (!feed.Watchers.Remove(watcher) || feed.Watchers.Count > 0) return;
            Forget(feed);
        }
        feed.Stop.Cancel();
    }

    /// <summary>Under the lock: later watchers open a new feed.</summary>
    private void Forget(Feed feed)
    {
        if (_feeds.TryGetValue((feed.SessionId, feed.OwnerId), out var current) && current == feed) _feeds.Remove((feed.SessionId, feed.OwnerId));
    }

    /// <summary>One connection's view of a feed: frames as they arrive (a stalled client loses its oldest, never the feed's memory).</summary>
    public sealed class Watcher : IDisposable
    {
        private int _disposed;

        internal Watcher(Feed feed) => Feed = feed;

        internal Feed Feed { get; }
        internal Channel<SseFrame> Channel { get; } = System.Threading.Channels.Channel.CreateBounded<SseFrame>(
            new BoundedChannelOptions(WatcherBuffer) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = true });

        /// <summary>Completes when the session ends the stream (erased, or its activation went away for good).</summary>
        public ChannelReader<SseFrame> Frames => Channel.Reader;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) Feed.Owner.Detach(this);
        }
    }

    internal sealed class Feed(SessionFeeds owner, string sessionId, string ownerId)
    {
        private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public SessionFeeds Owner => owner;
        public string SessionId => sessionId;
        public string OwnerId => ownerId;
        public List<Watcher> Watchers { get; } = [];
        public CancellationTokenSource Stop { get; } = new();
        public Task Ready => _ready.Task;

        public void Start() => _ = Task.Run(RunAsync);

        private async Task RunAsync()
        {
            var session = owner._grains.GetGrain<ISessionGrain>(sessionId);
            var token = Stop.Token;
            string? lastEventId = null;
            var resubscribed = false;
            try
            {
                while (!token.IsCancellationRequested)
                {
                    var events = session.Watch(ownerId, lastEventId, token).GetAsyncEnumerator(token);
                    try
                    {
                        await events.MoveNextAsync(); // the first heartbeat: the subscription is in place
                        _ready.TrySetResult();
                        while (await events.MoveNextAsync())
                        {
                            var ev = events.Current;
                            if (ev.Type == SessionEventTypes.Heartbeat) continue;
                            // Events without an id are the session's snapshot of pending turns: each watcher gets its own
                            // catch-up, so only a resubscription (the session may have lost its replay) passes them on.
                            if (ev.Id.Length == 0 && !resubscribed) continue;
                            if (ev.Id.Length > 0) lastEventId = ev.Id;
                            Broadcast(SseFrame.Of(ev, owner._json));
                        }
                        return; // the session ended the stream (erased or shutting down)
                    }
                    catch (Exception ex) when (!token.IsCancellationRequested && ex is not OperationCanceledException)
                    {
                        if (_ready.TrySetException(ex) || ex is LoomProblemException { Status: 404 }) return;
                        LogResubscribe(owner._logger, ex.GetType().Name, sessionId);
                        resubscribed = true;
                    }
                    finally
                    {
                        await events.DisposeAsync();
                    }
                    await Task.Delay(ResubscribeDelay, token);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
            }
            finally
            {
                _ready.TrySetCanceled(CancellationToken.None);
                List<Watcher> left;
                lock (owner._lock)
                {
                    owner.Forget(this);
                    left = [.. Watchers];
                }
                foreach (var w in left) w.Channel.Writer.TryComplete();
            }
        }

        private void Broadcast(SseFrame frame)
        {
            lock (owner._lock)
            {
                foreach (var w in Watchers) w.Channel.Writer.TryWrite(frame);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Event feed for {SessionId} interrupted ({Kind}); resubscribing")]
    private static partial void LogResubscribe(ILogger logger, string kind, string sessionId);
}
