namespace Loom.Cli;

/// <summary>The process exit codes, one per kind of failure, so scripts can tell them apart.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>The server refused the request (400, 409, 413, 422, 429) or a canon did not validate.</summary>
    public const int Refused = 1;
    /// <summary>The command line itself was wrong: unknown command or option, missing argument, bad file.</summary>
    public const int Usage = 2;
    /// <summary>Missing, wrong or insufficient API key (401, 403).</summary>
    public const int Auth = 3;
    /// <summary>The world, session, turn or key does not exist (or is not the caller's): 404.</summary>
    public const int NotFound = 4;
    /// <summary>The gateway failed (5xx, including 503 cluster unavailable).</summary>
    public const int Server = 5;
    /// <summary>The gateway could not be reached at all (connection refused, DNS, timeout).</summary>
    public const int Unreachable = 6;

    public static int ForStatus(int status) => status switch
    {
        401 or 403 => Auth,
        404 => NotFound,
        >= 500 => Server,
        _ => Refused,
    };
}
