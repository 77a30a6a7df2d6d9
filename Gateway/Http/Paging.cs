using Loom.Errors;

namespace Loom.Gateway.Http;

public static class Paging
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 200;

    public static int Limit(int? limit) => limit switch
    {
        null => DefaultLimit,
        < 1 or > MaxLimit => throw Problems.Invalid("limit", $"limit must be between 1 and {MaxLimit}."),
        _ => limit.Value,
    };
}
