Console.WriteLine("LOOM load tests");
