using Npgsql;

namespace Loom.Tests.Fixtures;

[Collection(PostgresCollection.Name)]
public sealed class PostgresServerTests(PostgresServer server)
{
    [Fact]
    public async Task Data_survives_a_restart()
    {
        var connectionString = await server.CreateDatabaseAsync();
        await ExecuteAsync(connectionString, "CREATE TABLE keep (v text); INSERT INTO keep VALUES ('still here');");

        await server.RestartAsync();

        Assert.Equal("still here", await ExecuteAsync(connectionString, "SELECT v FROM keep"));
    }

    private static async Task<object?> ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}

public sealed class RedisServerTests
{
    [Fact]
    public async Task Append_only_data_survives_a_restart_and_dispose_cleans_up()
    {
        var redis = new RedisServer();
        await redis.InitializeAsync();
        int port;
        try
        {
            port = redis.Port;
            Assert.Equal("+OK", await redis.SendAsync("SET", "loom:membership", "row-1"));

            await redis.RestartAsync();

            Assert.Equal("row-1", await redis.SendAsync("GET", "loom:membership"));
        }
        finally
        {
            await redis.DisposeAsync();
        }

        // Stopped: nothing listens on the port any more.
        await Assert.ThrowsAnyAsync<System.Net.Sockets.SocketException>(async () =>
        {
            using var client = new System.Net.Sockets.TcpClient();
            await client.ConnectAsync("127.0.0.1", port);
        });
    }
}
