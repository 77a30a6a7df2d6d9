using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Loom.Gateway.Http;

public static class ProblemsExtensions
{
    /// <summary>One writer for every error answer; the exception handler and the developer page filter both map through it.</summary>
    public static IServiceCollection AddLoomProblems(this IServiceCollection services)
    {
        services.AddSingleton<ProblemJsonWriter>();
        // Before AddProblemDetails: the service asks its writers in order, and the framework's negotiates on Accept.
        services.AddSingleton<IProblemDetailsWriter>(sp => sp.GetRequiredService<ProblemJsonWriter>());
        services.AddProblemDetails();
        services.AddSingleton<ProblemMapping>();
        services.AddSingleton<IExceptionHandler>(sp => sp.GetRequiredService<ProblemMapping>());
        services.AddSingleton<IDeveloperPageExceptionFilter>(sp => sp.GetRequiredService<ProblemMapping>());
        return services;
    }

    /// <summary>Exceptions and bodiless error statuses (404 route, 405, a 401 challenge, ...) become problem+json.</summary>
    public static IApplicationBuilder UseLoomProblems(this IApplicationBuilder app)
    {
        var writer = app.ApplicationServices.GetRequiredService<ProblemJsonWriter>();
        app.UseExceptionHandler();
        app.UseStatusCodePages(context => writer.WriteAsync(context.HttpContext, new ProblemDetails { Status = context.HttpContext.Response.StatusCode }));
        return app;
    }

    /// <summary>Requests whose body is compressed or declares a charset other than UTF-8 are refused (415) before any
    /// endpoint reads them. After CORS, so a listed page can read the refusal.</summary>
    public static IApplicationBuilder UseLoomBodyEncoding(this IApplicationBuilder app) => app.UseMiddleware<RequestBodyEncoding>();
}
