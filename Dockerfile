# LOOM image: one Dockerfile for both processes, chosen by the PROJECT build argument. Build from the repository root:
#   docker build --build-arg PROJECT=silo    -t loom-silo:dev .
#   docker build --build-arg PROJECT=gateway -t loom-gateway:dev .
# silo: an Orleans silo; the same image runs the schema migration (`docker run loom-silo:dev migrate`, the chart's
# migration Job). gateway: the HTTP API and Orleans client (or, in embedded mode, the whole engine in one process).
# `--target silo` / `--target gateway` selects the same stages.
ARG PROJECT=gateway

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG PROJECT
WORKDIR /src
# Restore first, from project files only, so the package layer is reused while only sources change.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY Grains.Interfaces/Grains.Interfaces.csproj Grains.Interfaces/
COPY Grains/Grains.csproj Grains/
COPY Silo/Silo.csproj Silo/
COPY Gateway/Gateway.csproj Gateway/
RUN case "$PROJECT" in silo) dir=Silo ;; gateway) dir=Gateway ;; *) echo "PROJECT must be silo or gateway, not '$PROJECT'" >&2; exit 1 ;; esac \
    && echo "$dir" > /tmp/project \
    && dotnet restore "$dir/$dir.csproj"
COPY Grains.Interfaces/ Grains.Interfaces/
COPY Grains/ Grains/
COPY Silo/ Silo/
COPY Gateway/ Gateway/
RUN dir="$(cat /tmp/project)" && dotnet publish "$dir/$dir.csproj" -c Release -o /app --no-restore -p:UseAppHost=false

# Chiseled Ubuntu: no shell or package manager, non-root by default; "-extra" adds the ICU and tzdata the
# app uses (InvariantGlobalization is off).
FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled-extra AS runtime
WORKDIR /app
COPY --from=build /app .
# The non-root user the .NET images define (uid 1654); the chart also enforces runAsNonRoot.
USER $APP_UID

# HTTP (healthz/readyz/metrics), Orleans silo-to-silo, Orleans client gateway.
FROM runtime AS silo
ENV ASPNETCORE_HTTP_PORTS= \
    ASPNETCORE_URLS=http://+:8081 \
    Loom__Cluster__SiloPort=11111 \
    Loom__Cluster__GatewayPort=30000
EXPOSE 8081 11111 30000
ENTRYPOINT ["dotnet", "Loom.Silo.dll"]

# HTTP: the API, the play page, healthz/readyz/metrics.
FROM runtime AS gateway
ENV ASPNETCORE_HTTP_PORTS= \
    ASPNETCORE_URLS=http://+:8080
EXPOSE 8080
ENTRYPOINT ["dotnet", "Loom.Gateway.dll"]

FROM ${PROJECT}
