using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Loom.Gateway.Auth;

/// <summary>Declares the API-key scheme in the OpenAPI document, so clients and the /docs page know every route takes a Bearer key.</summary>
internal sealed class BearerSecuritySchemeTransformer : IOpenApiDocumentTransformer
{
    private const string SchemeId = "apiKey";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[SchemeId] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "A LOOM API key: 'Authorization: Bearer loom_…'. Roles: viewer (read), player (play), author (publish), admin (keys, everything).",
        };
        document.Security ??= [];
        document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SchemeId, document)] = [] });
        return Task.CompletedTask;
    }
}
