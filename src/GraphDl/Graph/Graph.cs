using GraphDl.Ops;

namespace GraphDl;

/// <summary>Standard collection names (TF1's <c>tf.GraphKeys</c>).</summary>
public static class GraphKeys
{
    /// <summary>Every variable.</summary>
    public const string GlobalVariables = "variables";
    /// <summary>Variables an optimizer trains by default.</summary>
    public const string TrainableVariables = "trainable_variables";
    /// <summary>Ops to run with each training step (batch-norm statistics).</summary>
    public const string UpdateOps = "update_ops";
    /// <summary>Regularization terms to add to the loss.</summary>
    public const string RegularizationLosses = "regularization_losses";
    /// <summary>Summary ops.</summary>
    public const string Summaries = "summaries";
    /// <summary>The global-step variable.</summary>
    public const string GlobalStep = "global_step";
}

/// <summary>A dataflow graph. Nodes are added in order; shapes and dtypes are checked as each is added.</summary>
public sealed partial class Graph
{
    readonly List<Operation> ops = [];
    readonly Dictionary<string, Operation> byName = new(StringComparer.Ordinal);
    readonly Dictionary<string, int> namesInUse = new(StringComparer.Ordinal);
    readonly List<string> scopeStack = [""];
    readonly List<Operation[]> controlStack = [];
    readonly List<string?> deviceStack = [];
    readonly Dictionary<string, List<object>> collections = new(StringComparer.Ordinal);
    readonly object gate = new();
    volatile bool finalized;

    /// <summary>Graph-level random seed (TF1's <c>tf.set_random_seed</c>); null draws one per op from the op name.</summary>
    public int? Seed { get; set; }

    /// <summary>Every node, in the order it was added.</summary>
    public IReadOnlyList<Operation> Operations => ops;

    /// <summary>Number of nodes; it only grows.</summary>
    public int Version => ops.Count;

    /// <summary>True after <see cref="Finalize"/>.</summary>
    public bool IsFinalized => finalized;

    /// <summary>Makes the graph read-only: adding a node afterwards throws (catches graph growth in a training loop).</summary>
#pragma warning disable CS0465 // TF1's name: graph.finalize()
    public void Finalize() => finalized = true;
#pragma warning restore CS0465

    /// <summary>The op with this exact name.</summary>
    public Operation GetOperation(string name) =>
        byName.TryGetValue(name, out var op) ? op : throw new KeyNotFoundException($"graph has no operation named '{name}'");

    /// <summary>A tensor by its <c>op:index</c> name.</summary>
    public Tensor GetTensor(string name)
    {
        int colon = name.LastIndexOf(':');
        var op = GetOperation(colon < 0 ? name : name[..colon]);
        return op.Outputs[colon < 0 ? 0 : int.Parse(name[(colon + 1)..])];
    }

    /// <summary>Adds a node; the op's shape rule runs now and a failure names the node and the caller's line. A
    /// <paramref name="name"/> ending in '/' (a scope name, as <see cref="CurrentScope"/> gives it) names the node exactly that
    /// scope without the slash, not made unique again (TF's convention); an existing node of that name is an error.</summary>
    public Operation AddOp(OpDef def, Tensor[] inputs, Attrs? attrs = null, string? name = null, Operation[]? controlInputs = null)
    {
        attrs ??= new Attrs();
        lock (gate)
        {
            if (finalized)
                throw new GraphBuildException($"Graph is finalized and cannot be modified: tried to add {def.Name} '{name ?? def.Name}'{CallSite.Describe()}");
            foreach (var t in inputs)
                if (t.Graph != this)
                    throw new GraphBuildException($"{def.Name} '{name ?? def.Name}': input {t.Name} belongs to another graph{CallSite.Describe()}");
            string unique = name is not null && name.EndsWith('/') ? ScopeOpName(def, name) : UniqueName(name ?? def.Name);
            OutputSpec[] specs;
            try { specs = def.Infer(new InferContext(this, inputs, attrs)); }
            catch (ShapeError e)
            {
                throw new GraphBuildException($"{def.Name} '{unique}': {e.Message}{CallSite.Describe()}");
            }
            var ctrl = new List<Operation>();
            foreach (var level in controlStack) ctrl.AddRange(level);
            if (controlInputs != null) ctrl.AddRange(controlInputs);
            string? device = deviceStack.Count > 0 ? deviceStack[^1] : null;
            var op = new Operation(this, ops.Count, unique, def, inputs, ctrl.Distinct().ToArray(), attrs, device);
            op.Outputs = specs.Select((s, i) => new Tensor(op, i, s.DType, s.Shape)).ToArray();
            ops.Add(op);
            byName[unique] = op;
            return op;
        }
    }

    /// <summary>Adds a single-output node and returns its output.</summary>
    internal Tensor Add1(OpDef def, Tensor[] inputs, Attrs? attrs = null, string? name = null) => AddOp(def, inputs, attrs, name).Outputs[0];

    /// <summary>The current name-scope prefix, e.g. <c>dense/</c>.</summary>
    public string CurrentScope => scopeStack[^1];

    string UniqueName(string name)
    {
        string full = CurrentScope + name;
        if (!namesInUse.TryGetValue(full, out int count))
        {
            namesInUse[full] = 1;
            if (!byName.ContainsKey(full)) return full;
            count = 1;
        }
        string candidate;
        do { candidate = $"{full}_{count++}"; } while (namesInUse.ContainsKey(candidate) || byName.ContainsKey(candidate));
        namesInUse[full] = count;
        namesInUse[candidate] = 1;
        return candidate;
    }

    string ScopeOpName(OpDef def, string scope)
    {
        string exact = scope[..^1];
        if (exact.Length == 0 || exact.EndsWith('/'))
            throw new GraphBuildException($"{def.Name} '{scope}': a scope name must name something before its final '/'{CallSite.Describe()}");
        if (byName.ContainsKey(exact))
            throw new GraphBuildException($"{def.Name} '{scope}': the graph already has an operation named '{exact}'{CallSite.Describe()}");
        namesInUse.TryAdd(exact, 1);
        return exact;
    }

    /// <summary>Opens a name scope; reusing a name gives <c>name_1</c>. A name ending in '/' re-enters that exact scope.</summary>
    public IDisposable NameScope(string name)
    {
        lock (gate)
        {
            string prefix = name.EndsWith('/') ? name : name.Length == 0 ? "" : UniqueName(name) + "/";
            scopeStack.Add(prefix);
            return new Popper(() => { lock (gate) scopeStack.RemoveAt(scopeStack.Count - 1); });
        }
    }

    /// <summary>Nodes added inside the scope run after <paramref name="deps"/>.</summary>
    public IDisposable ControlDependencies(params Operation[] deps)
    {
        lock (gate) controlStack.Add(deps);
        return new Popper(() => { lock (gate) controlStack.RemoveAt(controlStack.Count - 1); });
    }

    /// <summary>Nodes added inside the scope ask for this device (<c>/cpu:0</c>, <c>/gpu:0</c>).</summary>
    public IDisposable Device(string? device)
    {
        lock (gate) deviceStack.Add(device);
        return new Popper(() => { lock (gate) deviceStack.RemoveAt(deviceStack.Count - 1); });
    }

    /// <summary>Adds a value to a named collection.</summary>
    public void AddToCollection(string key, object value)
    {
        lock (gate)
        {
            if (!collections.TryGetValue(key, out var list)) collections[key] = list = [];
            list.Add(value);
        }
    }

    /// <summary>The values of a collection of type <typeparamref name="T"/>, in insertion order.</summary>
    public IReadOnlyList<T> GetCollection<T>(string key)
    {
        lock (gate) return collections.TryGetValue(key, out var list) ? list.OfType<T>().ToList() : [];
    }

    sealed class Popper(Action pop) : IDisposable
    {
        bool done;
        public void Dispose() { if (!done) { done = true; pop(); } }
    }
}
