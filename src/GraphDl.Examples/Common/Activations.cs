namespace GraphDl.Examples;

/// <summary>Activation functions by their command-line name.</summary>
public static class Activations
{
    /// <summary>Names accepted by <see cref="Get"/>.</summary>
    public static readonly string[] Names = ["relu", "tanh", "sigmoid", "leaky-relu", "elu", "selu", "softplus", "relu6", "linear"];

    /// <summary>The activation called <paramref name="name"/>.</summary>
    public static Func<Tensor, Tensor>? Get(string name) => name switch
    {
        "relu" => x => x.Graph.Relu(x),
        "tanh" => x => x.Graph.Tanh(x),
        "sigmoid" => x => x.Graph.Sigmoid(x),
        "leaky-relu" => x => x.Graph.LeakyRelu(x, 0.2),
        "linear" => null,
        _ => throw new UsageException($"Unknown activation '{name}'; choose from {string.Join(", ", Names)}."),
    };
}
