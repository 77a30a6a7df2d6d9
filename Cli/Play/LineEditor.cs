using System.Text;

namespace Loom.Cli.Play;

/// <summary>
/// A one-line editor for the terminal: arrows move and recall earlier lines (Up/Down), Home/End, Backspace/Delete,
/// Ctrl-U clears; Enter submits; Ctrl-D on an empty line or Ctrl-C ends. Only used when standard input is a terminal.
/// With a history file the recalled lines outlive the run (the last <see cref="KeptLines"/>, readable by the user alone).
/// </summary>
public sealed class LineEditor
{
    public const int KeptLines = 500;

    private readonly TextWriter _output;
    private readonly string? _historyFile;
    private readonly List<string> _history = [];

    public LineEditor(TextWriter output, string? historyFile = null)
    {
        _output = output;
        _historyFile = historyFile;
        if (historyFile is not null) LoadHistory(historyFile);
    }

    public IReadOnlyList<string> History => _history;

    /// <summary>The line typed, or null when the user ended the session.</summary>
    public string? ReadLine(string prompt)
    {
        var line = new StringBuilder();
        var cursor = 0;
        var recalled = _history.Count; // _history.Count means "the new line being typed"
        var draft = "";
        var wasTreatingCtrlC = Console.TreatControlCAsInput;
        Console.TreatControlCAsInput = true;
        try
        {
            Render(prompt, line, cursor);
            while (true)
            {
                var key = Console.ReadKey(intercept: true);
                var ctrl = (key.Modifiers & ConsoleModifiers.Control) != 0;
                switch (key.Key)
                {
                    case ConsoleKey.Enter:
                        _output.WriteLine();
                        var text = line.ToString();
                        if (text.Trim().Length > 0 && (_history.Count == 0 || _history[^1] != text))
                        {
                            _history.Add(text);
                            SaveLine(text);
                        }
                        return text;
                    case ConsoleKey.C when ctrl:
                        _output.WriteLine();
                        return null;
                    case ConsoleKey.D when ctrl:
                        if (line.Length == 0)
                        {
                            _output.WriteLine();
                            return null;
                        }
                        if (cursor < line.Length) line.Remove(cursor, 1);
                        break;
                    case ConsoleKey.U when ctrl:
                        line.Clear();
                        cursor = 0;
                        break;
                    case ConsoleKey.A when ctrl:
                    case ConsoleKey.Home:
                        cursor = 0;
                        break;
                    case ConsoleKey.E when ctrl:
                    case ConsoleKey.End:
                        cursor = line.Length;
                        break;
                    case ConsoleKey.LeftArrow:
                        cursor = Math.Max(0, cursor - 1);
                        break;
                    case ConsoleKey.RightArrow:
                        cursor = Math.Min(line.Length, cursor + 1);
                        break;
                    case ConsoleKey.Backspace:
                        if (cursor > 0) line.Remove(--cursor, 1);
                        break;
                    case ConsoleKey.Delete:
                        if (cursor < line.Length) line.Remove(cursor, 1);
                        break;
                    case ConsoleKey.UpArrow when recalled > 0:
                        if (recalled == _history.Count) draft = line.ToString();
                        Replace(line, _history[--recalled], ref cursor);
                        break;
                    case ConsoleKey.DownArrow when recalled < _history.Count:
                        recalled++;
                        Replace(line, recalled == _history.Count ? draft : _history[recalled], ref cursor);
                        break;
                    default:
                        if (!char.IsControl(key.KeyChar)) line.Insert(cursor++, key.KeyChar);
                        break;
                }
                Render(prompt, line, cursor);
            }
        }
        finally
        {
            Console.TreatControlCAsInput = wasTreatingCtrlC;
        }
    }

    private static void Replace(StringBuilder line, string text, ref int cursor)
    {
        line.Clear().Append(text);
        cursor = line.Length;
    }

    /// <summary>Redraws the whole line (ANSI: erase to end of line, then move the cursor back into place).</summary>
    private void Render(string prompt, StringBuilder line, int cursor)
    {
        _output.Write("\r" + prompt + line + "\u001b[K");
        var back = line.Length - cursor;
        if (back > 0) _output.Write($"\u001b[{back}D");
        _output.Flush();
    }

    /// <summary>Reads the kept lines; a file grown past twice the limit is cut back. History is a convenience: errors are ignored.</summary>
    private void LoadHistory(string file)
    {
        try
        {
            if (!File.Exists(file)) return;
            var lines = File.ReadAllLines(file);
            _history.AddRange(lines.Where(l => l.Length > 0).TakeLast(KeptLines));
            if (lines.Length > 2 * KeptLines) File.WriteAllLines(file, _history);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private void SaveLine(string text)
    {
        if (_historyFile is null) return;
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_historyFile))!);
            var options = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write };
            // What a player typed is theirs alone, like the profile beside it.
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using var writer = new StreamWriter(new FileStream(_historyFile, options));
            writer.WriteLine(text);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
