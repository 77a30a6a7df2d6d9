namespace Loom.Text;

/// <summary>Counts tokens the way the narrator's model would, so prompt budgets hold.</summary>
public interface ITokenCounter
{
    int Count(string text);
}
