// Placeholder: the standalone silo host is composed in Hosting/ (see docs/architecture.md).
Console.WriteLine("LOOM silo");
