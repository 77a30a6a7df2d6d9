using System.Net.Sockets;
using Loom.LoadTests.Client;

namespace Loom.LoadTests.Core;

/// <summary>Maps exceptions to short, stable error kinds so the report can tally them.</summary>
public static class ErrorKinds
{
    public static string Classify(Exception e) => e switch
    {
        LoomApiException api => $"http {api.StatusCode}",
        TurnNotCompletedException turn => turn.Kind,
        UnexpectedAnswerException odd => odd.Kind,
        TaskCanceledException { InnerException: TimeoutException } => "client timeout",
        TimeoutException => "client timeout",
        HttpRequestException { HttpRequestError: var err } when err != HttpRequestError.Unknown => $"connection: {err}",
        HttpRequestException { InnerException: SocketException se } => $"socket: {se.SocketErrorCode}",
        HttpRequestException => "connection",
        System.Text.Json.JsonException => "bad json",
        _ => e.GetType().Name,
    };
}
