namespace Loom.LoadTests.Core;

/// <summary>
/// Prints a status line every second: rewritten in place on a terminal, as plain lines when output is redirected
/// (so CI logs stay readable).
/// </summary>
public sealed class ProgressReporter : IAsyncDisposable
{
    private readonly TextWriter _out;
    private readonly bool _inPlace;
    private readonly Func<string> _status;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _lastWidth;

    public ProgressReporter(TextWriter output, bool inPlace, Func<string> status, TimeSpan? interval = null)
    {
        _out = output;
        _inPlace = inPlace;
        _status = status;
        _loop = Task.Run(() => LoopAsync(interval ?? TimeSpan.FromSeconds(1)));
    }

    private async Task LoopAsync(TimeSpan interval)
    {
        try
        {
            using var timer = new PeriodicTimer(interval);
            while (await timer.WaitForNextTickAsync(_stop.Token)) Write(_status());
        }
        catch (OperationCanceledException) { }
    }

    private void Write(string line)
    {
        lock (_out)
        {
            if (_inPlace)
            {
                // Pad over the previous line's tail so a shorter status leaves no residue.
                _out.Write('\r' + line.PadRight(_lastWidth));
                _lastWidth = line.Length;
            }
            else
            {
                _out.WriteLine(line);
            }
            _out.Flush();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        Write(_status());
        if (_inPlace) lock (_out) _out.WriteLine();
        _stop.Dispose();
    }
}
