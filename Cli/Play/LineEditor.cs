using System.Text;

namespace Loom.Cli.Play;

/// <summary>
/// A one-line editor for the terminal: arrows move and recall earlier lines (Up/Down), Home/End, Backspace/Delete,
/// Ctrl-U clears; Enter submits; Ctrl-D on an empty line or Ctrl-C ends. Only used when standard input is a terminal.
/// </summary>
public sealed class LineEditor(TextWriter output)
{
    private readonly List<string> _history = [];

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
                        output.WriteLine();
                        var text = line.ToString();
                        if (text.Trim().Length > 0 && (_history.Count == 0 || _history[^1] != text)) _history.Add(text);
                        return text;
                    case ConsoleKey.C when ctrl:
                        output.WriteLine();
                        return null;
                    case ConsoleKey.D when ctrl:
                        if (line.Length == 0)
                        {
                            output.WriteLine();
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
        output.Write("\r" + prompt + line + "\u001b[K");
        var back = line.Length - cursor;
        if (back > 0) output.Write($"\u001b[{back}D");
        output.Flush();
    }
}
