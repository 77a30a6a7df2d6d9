using Loom.Errors;
using Orleans;
using Orleans.Runtime;

namespace Loom.Gateway.Hosting;

/// <summary>
/// The gateway's link to the cluster in redis mode: keeps retrying the first connection (so the gateway can start
/// before any silo and answer /healthz meanwhile) and knows whether it has connected yet.
/// </summary>
public sealed partial class ClusterConnection(ILogger<ClusterConnection> logger)
    : IClientConnectionRetryFilter, ILifecycleParticipant<IClusterClientLifecycle>
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(2);
    private volatile bool _connected;
    private int _attempts;

    public bool Connected => _connected;

    public async Task<bool> ShouldRetryConnectionAttempt(Exception exception, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested) return false;
        // Only the exception type: its message can carry connection details.
        LogRetry(Interlocked.Increment(ref _attempts), exception.GetType().Name);
        try
        {
            await Task.Delay(RetryDelay, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        return true;
    }

    public void Participate(IClusterClientLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(ClusterConnection), ServiceLifecycleStage.Active, _ =>
        {
            _connected = true;
            return Task.CompletedTask;
        });

    /// <summary>Answers 503 with Retry-After for API calls (<c>/api</c>, and <c>/v1</c> in OpenAI's error shape) until the
    /// first connection is made.</summary>
    public static RequestDelegate Gate(RequestDelegate next) => context =>
    {
        var connection = context.RequestServices.GetRequiredService<ClusterConnection>();
        if (!connection.Connected && (context.Request.Path.StartsWithSegments("/api") || context.Request.Path.StartsWithSegments("/v1")))
        {
            throw new LoomProblemException(503, "cluster_unavailable", "Service unavailable",
                "The gateway has not connected to the LOOM cluster yet; retry shortly.", retryAfterSeconds: 5);
        }
        return next(context);
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot reach the LOOM cluster yet (attempt {Attempt}, {Kind}); retrying")]
    private partial void LogRetry(int attempt, string kind);
}
