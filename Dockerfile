# LOOM silo image. Build from the repository root:
#   docker build -f Silo/Dockerfile -t loom-silo:dev .
# The same image runs the schema migration: `docker run loom-silo:dev migrate` (the chart's migration Job).

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first, from project files only, so the package layer is reused while only sources change.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY Grains.Interfaces/Grains.Interfaces.csproj Grains.Interfaces/
COPY Grains/Grains.csproj Grains/
COPY Silo/Silo.csproj Silo/
RUN dotnet restore Silo/Silo.csproj
COPY Grains.Interfaces/ Grains.Interfaces/
COPY Grains/ Grains/
COPY Silo/ Silo/
RUN dotnet publish Silo/Silo.csproj -c Release -o /app --no-restore -p:UseAppHost=false

# Chiseled Ubuntu: no shell or package manager, non-root by default; "-extra" adds the ICU and tzdata the
# app uses (InvariantGlobalization is off).
FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled-extra AS runtime
WORKDIR /app
# HTTP (healthz/readyz/metrics), Orleans silo-to-silo, Orleans client gateway.
ENV ASPNETCORE_HTTP_PORTS= \
    ASPNETCORE_URLS=http://+:8081 \
    Loom__Cluster__SiloPort=11111 \
    Loom__Cluster__GatewayPort=30000
EXPOSE 8081 11111 30000
COPY --from=build /app .
# The non-root user the .NET images define (uid 1654); the chart also enforces runAsNonRoot.
USER $APP_UID
ENTRYPOINT ["dotnet", "Loom.Silo.dll"]
