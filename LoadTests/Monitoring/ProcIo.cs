using System.Globalization;

namespace Loom.LoadTests.Monitoring;

/// <summary>
/// <c>/proc/&lt;pid&gt;/io</c>: what a process made the kernel read from and write to storage (<c>read_bytes</c>,
/// <c>write_bytes</c>: block-layer bytes, page cache write-back included; not sockets). Null when unreadable.
/// </summary>
public sealed record ProcIo(long ReadBytes, long WriteBytes)
{
    public static ProcIo? Read(int pid)
    {
        try
        {
            long read = 0, write = 0;
            foreach (var line in File.ReadLines($"/proc/{pid}/io"))
            {
                var parts = line.Split(':', 2, StringSplitOptions.TrimEntries);
                if (parts.Length != 2 || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var value)) continue;
                if (parts[0] == "read_bytes") read = value;
                else if (parts[0] == "write_bytes") write = value;
            }
            return new ProcIo(read, write);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The sum over <paramref name="pids"/>; null when none could be read.</summary>
    public static ProcIo? Sum(IEnumerable<int> pids)
    {
        ProcIo? total = null;
        foreach (var pid in pids)
        {
            if (Read(pid) is not { } io) continue;
            total = total is null ? io : new ProcIo(total.ReadBytes + io.ReadBytes, total.WriteBytes + io.WriteBytes);
        }
        return total;
    }
}
