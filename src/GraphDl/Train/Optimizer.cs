namespace GraphDl.Train;

/// <summary>Base of TF1's optimizers (<c>tf.train.Optimizer</c>): computes gradients, keeps per-variable slot variables
/// (accumulators) and adds one fused <c>Apply*</c> op per variable.</summary>
/// <remarks>
/// Names follow TF1: <see cref="ApplyGradients"/> opens a name scope named after the optimizer (<c>Adam</c>,
/// <c>Adam_1</c>, ...) holding the hyperparameter constants and one <c>update_&lt;var&gt;</c> scope per variable; slots are
/// non-trainable variables <c>&lt;var&gt;/&lt;optimizer name&gt;</c>, <c>&lt;var&gt;/&lt;optimizer name&gt;_1</c>, ... in
/// <see cref="GraphKeys.GlobalVariables"/>, so <see cref="Graph.GlobalVariablesInitializer"/> initializes them (build the
/// initializer after the training op).
/// </remarks>
public abstract class Optimizer
{
    readonly Dictionary<(Variable Var, string Slot), Variable> slots = [];
    readonly List<string> slotNames = [];
    readonly Dictionary<(string, DType), Tensor> hyper = [];
    Graph? applyGraph;
    string applyScope = "";

    /// <summary>Creates an optimizer; <paramref name="name"/> names its scope and its slots.</summary>
    protected Optimizer(string name)
    {
        if (string.IsNullOrEmpty(name)) throw new ArgumentException("optimizer name must not be empty", nameof(name));
        Name = name;
    }

    /// <summary>The optimizer's name (<c>GradientDescent</c>, <c>Adam</c>): the default scope of its ops and its slots' name.</summary>
    public string Name { get; }

    /// <summary>Gradients of <paramref name="loss"/> with respect to each variable (TF1's <c>compute_gradients</c>); the default
    /// variables are the graph's trainable ones. A variable the loss does not depend on gets a null gradient.</summary>
    public IReadOnlyList<(Tensor? Grad, Variable Var)> ComputeGradients(Tensor loss, IEnumerable<Variable>? varList = null)
    {
        var g = loss.Graph;
        if (!loss.DType.IsFloating())
            throw new GraphBuildException($"{Name}: loss {loss.Name} must be float32 or float64, got {loss.DType.Name()}{CallSite.Describe()}");
        var vars = (varList ?? g.TrainableVariables).ToList();
        if (vars.Count == 0) throw new GraphBuildException($"{Name}: no variables to optimize{CallSite.Describe()}");
        foreach (var v in vars)
            if (v.Graph != g) throw new GraphBuildException($"{Name}: variable '{v.Name}' belongs to another graph than the loss{CallSite.Describe()}");
        if (vars.Distinct().Count() != vars.Count)
            throw new GraphBuildException($"{Name}: the variable list names a variable twice{CallSite.Describe()}");
        var grads = g.Gradients([loss], vars.Select(v => v.Value).ToArray());
        return vars.Select((v, i) => (grads[i], v)).ToList();
    }

    /// <summary>Adds the update ops (TF1's <c>apply_gradients</c>): one per variable with a gradient (null gradients are
    /// skipped), then <paramref name="globalStep"/> += 1 after all of them. <paramref name="name"/> (default
    /// <see cref="Name"/>) names the scope. Returns the op to run for one training step.</summary>
    public Operation ApplyGradients(IEnumerable<(Tensor? Grad, Variable Var)> gradsAndVars, Variable? globalStep = null, string? name = null)
    {
        var all = gradsAndVars.ToList();
        if (all.Count == 0) throw new GraphBuildException($"{Name}: no variables provided{CallSite.Describe()}");
        var pairs = all.Where(p => p.Grad != null).Select(p => (Grad: p.Grad!, p.Var)).ToList();
        if (pairs.Count == 0)
            throw new GraphBuildException($"{Name}: no gradients provided for any variable, check your graph for ops that do not support " +
                $"gradients, between variables [{string.Join(", ", all.Select(p => p.Var.Name))}] and the loss{CallSite.Describe()}");
        var g = pairs[0].Var.Graph;
        foreach (var (grad, v) in pairs)
        {
            if (v.Graph != g || grad.Graph != g)
                throw new GraphBuildException($"{Name}: variable '{v.Name}' or its gradient belongs to another graph{CallSite.Describe()}");
            if (!v.DType.IsFloating())
                throw new GraphBuildException($"{Name}: cannot train variable '{v.Name}' of dtype {v.DType.Name()}{CallSite.Describe()}");
            if (grad.DType != v.DType)
                throw new GraphBuildException($"{Name}: gradient {grad.Name} has dtype {grad.DType.Name()}, variable '{v.Name}' has {v.DType.Name()}{CallSite.Describe()}");
            if (!grad.Shape.IsCompatibleWith(v.Shape))
                throw new GraphBuildException($"{Name}: gradient {grad.Name} has shape {grad.Shape}, variable '{v.Name}' has {v.Shape}{CallSite.Describe()}");
        }
        if (pairs.Select(p => p.Var).Distinct().Count() != pairs.Count)
            throw new GraphBuildException($"{Name}: a variable has two gradients in the list{CallSite.Describe()}");
        if (globalStep != null && (globalStep.Graph != g || globalStep.DType is not (DType.Int32 or DType.Int64)))
            throw new GraphBuildException($"{Name}: global step '{globalStep.Name}' must be an int32 or int64 variable of this graph{CallSite.Describe()}");

        CreateSlots(g, pairs.Select(p => p.Var).ToList());
        using (g.NameScope(name ?? Name))
        {
            applyGraph = g;
            applyScope = g.CurrentScope;
            hyper.Clear();
            try
            {
                Prepare(g);
                var updates = new List<Operation>();
                foreach (var (grad, v) in pairs)
                    using (g.NameScope("update_" + v.Name))
                        updates.Add(ApplyDense(g, grad, v));
                if (globalStep == null) return Finish(g, updates, "update");
                var finish = Finish(g, updates, "update");
                using (g.ControlDependencies(finish))
                    return globalStep.AssignAdd(g.Scalar(1, globalStep.DType, "one"), "increment_global_step").Op;
            }
            finally
            {
                hyper.Clear();
                applyGraph = null;
            }
        }
    }

    /// <summary><see cref="ComputeGradients"/> then <see cref="ApplyGradients"/> (TF1's <c>minimize</c>).</summary>
    public Operation Minimize(Tensor loss, Variable? globalStep = null, IEnumerable<Variable>? varList = null, string? name = null) =>
        ApplyGradients(ComputeGradients(loss, varList), globalStep, name);

    /// <summary>The slot variable <paramref name="slotName"/> (<c>m</c>, <c>momentum</c>, ...) of <paramref name="var"/>, or null.</summary>
    public Variable? GetSlot(Variable var, string slotName) => slots.GetValueOrDefault((var, slotName));

    /// <summary>The names of the slots this optimizer has created, in creation order.</summary>
    public IReadOnlyList<string> GetSlotNames() => slotNames;

    // ---- for subclasses --------------------------------------------------------------------------------

    /// <summary>Creates the slots the update needs (once per variable; called before the apply scope opens).</summary>
    protected virtual void CreateSlots(Graph g, IReadOnlyList<Variable> vars) { }

    /// <summary>Builds tensors shared by every update (called inside the apply scope).</summary>
    protected virtual void Prepare(Graph g) { }

    /// <summary>Adds the update of one variable (called inside its <c>update_&lt;var&gt;</c> scope).</summary>
    protected abstract Operation ApplyDense(Graph g, Tensor grad, Variable var);

    /// <summary>Groups the updates into the step op (Adam also advances its β powers here).</summary>
    protected virtual Operation Finish(Graph g, IReadOnlyList<Operation> updates, string name) => g.Group(updates, name);

    /// <summary>The slot <paramref name="slotName"/> of <paramref name="var"/>, created on first use as the non-trainable
    /// variable <c>&lt;var&gt;/&lt;opName&gt;</c> filled with <paramref name="initialValue"/>.</summary>
    protected Variable GetOrMakeSlot(Variable var, string slotName, string opName, double initialValue)
    {
        if (slots.TryGetValue((var, slotName), out var slot)) return slot;
        var g = var.Graph;
        // Colocated with its variable (TF1's colocate_with): the update op needs both on one device.
        using (g.Device(var.Op.Device))
        using (g.NameScope(var.Name + "/"))
        {
            Tensor init;
            using (g.NameScope(var.Name + "/" + opName + "/Initializer/"))
                init = (initialValue == 0 ? Initializers.Zeros() : Initializers.Constant(initialValue)).Build(g, var.Shape, var.DType);
            slot = g.Variable(init, opName, trainable: false);
        }
        slots[(var, slotName)] = slot;
        if (!slotNames.Contains(slotName)) slotNames.Add(slotName);
        return slot;
    }

    /// <summary>A hyperparameter as a scalar of <paramref name="dtype"/>, created once per apply call in the apply scope
    /// (<c>Adam/learning_rate</c>); a tensor of another dtype is cast.</summary>
    protected Tensor Hyper(string name, double value, DType dtype) => Hyper(name, dtype, g => g.Scalar(value, dtype, name));

    /// <summary>A hyperparameter given as a tensor, cast to <paramref name="dtype"/> when needed.</summary>
    protected Tensor Hyper(string name, Tensor value, DType dtype) =>
        value.DType == dtype ? value : Hyper(name, dtype, g => g.Cast(value, dtype, name));

    Tensor Hyper(string name, DType dtype, Func<Graph, Tensor> make)
    {
        if (applyGraph == null) throw new InvalidOperationException("hyperparameters are built during ApplyGradients");
        if (hyper.TryGetValue((name, dtype), out var t)) return t;
        using (applyGraph.NameScope(applyScope)) t = make(applyGraph);
        hyper[(name, dtype)] = t;
        return t;
    }

    /// <summary>Checks a tensor hyperparameter: a float scalar.</summary>
    protected static Tensor CheckScalar(Tensor t, string what)
    {
        if (!t.DType.IsFloating()) throw new ArgumentException($"{what} must be float32 or float64, got {t.DType.Name()}");
        if (t.Shape.HasRank && t.Shape.Rank != 0) throw new ArgumentException($"{what} must be a scalar, got shape {t.Shape}");
        return t;
    }
}
