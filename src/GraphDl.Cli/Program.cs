return GraphDl.Cli.GraphDlCli.Run(args, Console.Out, Console.Error);
