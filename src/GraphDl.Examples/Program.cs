return GraphDl.Examples.ExampleProgram.Run(args);
