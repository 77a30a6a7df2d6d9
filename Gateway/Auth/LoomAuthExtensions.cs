using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Loom.Gateway.Auth;

/// <summary>Marks a POST that only reads (a search, a validation): it needs <see cref="LoomPolicies.Read"/>, not the group's change policy.</summary>
public sealed class ReadsOnlyMetadata
{
    public static readonly ReadsOnlyMetadata Instance = new();
}

public static class LoomAuthExtensions
{
    /// <summary>The API-key scheme, its key sources, the role policies, and a fallback that requires a caller everywhere.</summary>
    public static IServiceCollection AddLoomAuth(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AuthOptions>().Bind(configuration.GetSection(AuthOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        // Order matters: configuration keys answer without a cluster call.
        services.AddSingleton<ConfigApiKeyLookup>();
        services.AddSingleton<IApiKeyLookup>(sp => sp.GetRequiredService<ConfigApiKeyLookup>());
        services.AddSingleton<IApiKeyLookup, DatabaseApiKeyLookup>();
        services.AddSingleton<CallerResolver>();

        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorization(o =>
        {
            LoomPolicies.Add(o);
            // Every endpoint needs a caller unless it says AllowAnonymous: a new endpoint cannot forget it.
            o.FallbackPolicy = new AuthorizationPolicyBuilder(ApiKeyAuthenticationHandler.SchemeName).RequireAuthenticatedUser().Build();
        });
        return services;
    }

    /// <summary>
    /// Role policies for a group of endpoints: GET/HEAD (and POSTs marked <see cref="ReadsOnly{TBuilder}"/>) need
    /// <see cref="LoomPolicies.Read"/>; every other method needs <paramref name="changePolicy"/>.
    /// </summary>
    public static TBuilder RequireRoles<TBuilder>(this TBuilder builder, string changePolicy) where TBuilder : IEndpointConventionBuilder
    {
        // Finally: after each endpoint's own conventions, so ReadsOnly() on an endpoint is seen.
        builder.Finally(endpoint =>
        {
            if (endpoint.Metadata.OfType<IAllowAnonymous>().Any()) return;
            var methods = endpoint.Metadata.OfType<HttpMethodMetadata>().LastOrDefault()?.HttpMethods ?? [];
            var reads = endpoint.Metadata.OfType<ReadsOnlyMetadata>().Any()
                        || (methods.Count > 0 && methods.All(m => m is "GET" or "HEAD"));
            endpoint.Metadata.Add(new AuthorizeAttribute(reads ? LoomPolicies.Read : changePolicy));
        });
        return builder;
    }

    public static TBuilder ReadsOnly<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(ReadsOnlyMetadata.Instance);
}
