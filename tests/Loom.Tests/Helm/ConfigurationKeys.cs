using System.Collections;
using System.Reflection;
using System.Text.RegularExpressions;
using Loom.Gateway.Auth;
using Loom.Llm;
using Loom.Silo.Hosting;

namespace Loom.Tests.Helm;

/// <summary>
/// Every configuration key the hosts bind, read from the options classes themselves (each class with a
/// <c>Section</c>/<c>SectionName</c> constant under <c>Loom:</c>), so the chart is checked against the code, not a list.
/// List items and dictionary entries appear as <c>*</c> segments (e.g. <c>Loom:Auth:Keys:*:Sha256</c>).
/// </summary>
internal static class ConfigurationKeys
{
    public static IReadOnlyList<string> All { get; } = Discover();

    /// <summary>True when an environment variable name (<c>__</c> for <c>:</c>) is a key some options class binds.</summary>
    public static bool IsBound(string environmentName)
    {
        var key = environmentName.Replace("__", ":", StringComparison.Ordinal);
        return All.Any(pattern => Regex.IsMatch(key,
            "^" + Regex.Escape(pattern).Replace(@"\*", "[^:]+", StringComparison.Ordinal) + "$", RegexOptions.IgnoreCase));
    }

    private static List<string> Discover()
    {
        var assemblies = new[] { typeof(LoomClusterOptions).Assembly, typeof(LlmOptions).Assembly, typeof(AuthOptions).Assembly };
        var keys = new List<string>();
        foreach (var type in assemblies.SelectMany(a => a.GetTypes()).Where(t => t.IsClass && !t.IsAbstract))
        {
            var section = type.GetFields(BindingFlags.Public | BindingFlags.Static)
                .Where(f => f is { IsLiteral: true, Name: "Section" or "SectionName" } && f.FieldType == typeof(string))
                .Select(f => (string)f.GetRawConstantValue()!)
                .FirstOrDefault(s => s.StartsWith("Loom:", StringComparison.Ordinal));
            if (section is not null)
            {
                keys.AddRange(Flatten(type, section, depth: 0));
            }
        }

        return keys;
    }

    private static IEnumerable<string> Flatten(Type type, string prefix, int depth)
    {
        if (depth > 6)
        {
            yield break;
        }

        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetIndexParameters().Length == 0))
        {
            var settable = property.SetMethod?.IsPublic == true;
            var valueType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            var key = $"{prefix}:{property.Name}";
            if (IsScalar(valueType))
            {
                if (settable)
                {
                    yield return key;
                }
            }
            else if (ElementType(valueType) is { } element)
            {
                foreach (var k in IsScalar(element) ? [key + ":*"] : Flatten(element, key + ":*", depth + 1))
                {
                    yield return k;
                }
            }
            else if (valueType.IsClass)
            {
                foreach (var k in Flatten(valueType, key, depth + 1))
                {
                    yield return k;
                }
            }
        }
    }

    private static bool IsScalar(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan) || type == typeof(Uri);

    /// <summary>The value type of a dictionary or the item type of a list, else null.</summary>
    private static Type? ElementType(Type type)
    {
        if (type == typeof(string) || !typeof(IEnumerable).IsAssignableFrom(type))
        {
            return null;
        }

        var dictionary = type.GetInterfaces().Append(type)
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>));
        if (dictionary is not null)
        {
            return dictionary.GetGenericArguments()[1];
        }

        var enumerable = type.GetInterfaces().Append(type)
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>));
        return enumerable?.GetGenericArguments()[0];
    }
}
