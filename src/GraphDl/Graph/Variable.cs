using GraphDl.Ops;

namespace GraphDl;

/// <summary>Whether <see cref="Graph.GetVariable"/> may create or must reuse (TF1's <c>reuse</c>).</summary>
public enum Reuse
{
    /// <summary>Create; an existing variable of that name is an error.</summary>
    No,
    /// <summary>Reuse; a missing variable is an error.</summary>
    Yes,
    /// <summary>Reuse if present, else create (TF1's <c>tf.AUTO_REUSE</c>).</summary>
    Auto,
}

/// <summary>Builds a variable's initial value.</summary>
public interface IInitializer
{
    /// <summary>Adds nodes computing an initial value of this shape and dtype.</summary>
    Tensor Build(Graph g, Shape shape, DType dtype);
}

/// <summary>A variable: a value kept in the session across runs.</summary>
public sealed class Variable
{
    internal Variable(Operation op, Tensor value, Operation initializer, Tensor initialValue, bool trainable)
    {
        Op = op; Value = value; Initializer = initializer; InitialValue = initialValue; Trainable = trainable;
    }

    /// <summary>The <c>VariableV2</c> node (the "ref" that Assign and Apply* ops update).</summary>
    public Operation Op { get; }
    /// <summary>The variable's value, read through <c>name/read</c>.</summary>
    public Tensor Value { get; }
    /// <summary>Assigns the initial value.</summary>
    public Operation Initializer { get; }
    /// <summary>The initial-value tensor.</summary>
    public Tensor InitialValue { get; }
    /// <summary>True if optimizers train it by default.</summary>
    public bool Trainable { get; }
    /// <summary>The variable's name (<c>dense/kernel</c>).</summary>
    public string Name => Op.Name;
    /// <summary>The reference tensor (output of the VariableV2 node).</summary>
    public Tensor Ref => Op.Outputs[0];
    /// <summary>The static shape.</summary>
    public Shape Shape => Ref.Shape;
    /// <summary>The dtype.</summary>
    public DType DType => Ref.DType;
    /// <summary>The graph.</summary>
    public Graph Graph => Op.Graph;

    /// <summary>Sets the value directly in a session (TF1's <c>variable.load</c>); checks dtype and shape.</summary>
    public void Load(NDArray value, Session session)
    {
        if (value.DType != DType) throw new FeedException($"cannot load {value.DType.Name()} into variable '{Name}' of dtype {DType.Name()}");
        if (!Shape.Accepts(value.Dims)) throw new FeedException($"cannot load value of shape {Shape.Format(value.Dims)} into variable '{Name}' of shape {Shape}");
        session.WriteVariable(Op, value);
    }

    /// <summary>The current value in a session.</summary>
    public NDArray Eval(Session session) => session.Run(Value);

    /// <summary><c>var = value</c>.</summary>
    public Tensor Assign(Tensor value, string? name = null) => Graph.Add1(VariableOps.Assign, [Ref, value], null, name);
    /// <summary><c>var += value</c>.</summary>
    public Tensor AssignAdd(Tensor value, string? name = null) => Graph.Add1(VariableOps.AssignAdd, [Ref, value], null, name);
    /// <summary><c>var -= value</c>.</summary>
    public Tensor AssignSub(Tensor value, string? name = null) => Graph.Add1(VariableOps.AssignSub, [Ref, value], null, name);

    /// <summary>The value tensor.</summary>
    public static implicit operator Tensor(Variable v) => v.Value;

    /// <inheritdoc/>
    public override string ToString() => $"Variable '{Name}' {DType.Name()}{Shape}";
}

public sealed partial class Graph
{
    readonly Dictionary<string, Variable> variablesByName = new(StringComparer.Ordinal);
    readonly List<(string Name, Reuse Reuse, IInitializer? Init)> varScopes = [("", Reuse.No, null)];

    /// <summary>Creates a variable from an initial value (TF1's <c>tf.Variable</c>), named uniquely in the current name scope.</summary>
    public Variable Variable(Tensor initialValue, string name = "Variable", bool trainable = true) =>
        CreateVariable(initialValue.Graph == this ? initialValue : throw new ArgumentException("initial value from another graph"),
            name, trainable, absolute: false);

    /// <summary>Creates a variable from a constant initial value.</summary>
    public Variable Variable(NDArray initialValue, string name = "Variable", bool trainable = true) =>
        CreateVariable(null, name, trainable, absolute: false, constant: initialValue);

    /// <summary>Creates a variable of a shape from an initializer (TF1's <c>tf.Variable(initializer(shape))</c>).</summary>
    public Variable Variable(IInitializer initializer, Shape shape, DType dtype = DType.Float32, string name = "Variable", bool trainable = true) =>
        CreateVariable(null, name, trainable, absolute: false, buildInitial: () => initializer.Build(this, shape, dtype), shape: shape, dtype: dtype);

    Variable CreateVariable(Tensor? initial, string name, bool trainable, bool absolute, NDArray? constant = null,
        Func<Tensor>? buildInitial = null, Shape? shape = null, DType? dtype = null)
    {
        // NOTE: GetVariable names ignore the current name scope (TF1): re-enter the variable's own scope, or the root.
        IDisposable? abs = absolute ? NameScope(name.Contains('/') ? name[..(name.LastIndexOf('/') + 1)] : "") : null;
        string shortName = absolute && name.Contains('/') ? name[(name.LastIndexOf('/') + 1)..] : name;
        try
        {
            var dt = initial?.DType ?? constant?.DType ?? dtype!.Value;
            var sh = initial?.Shape ?? constant?.Shape ?? shape!;
            if (!sh.IsFullyDefined)
                throw new GraphBuildException($"VariableV2 '{name}': initial value must have a fully defined shape, got {sh}{CallSite.Describe()}");
            var op = AddOp(VariableOps.VariableV2, [], new Attrs { ["dtype"] = dt, ["shape"] = sh }, shortName);
            Tensor init, read;
            Operation assign;
            using (NameScope(op.Name + "/"))
            {
                init = initial ?? (constant != null ? this.Const(constant, "initial_value") : buildInitial!());
                assign = AddOp(VariableOps.Assign, [op.Outputs[0], init], null, "Assign");
                read = this.Identity(op.Outputs[0], "read");
            }
            var v = new Variable(op, read, assign, init, trainable);
            variablesByName[op.Name] = v;
            AddToCollection(GraphKeys.GlobalVariables, v);
            if (trainable) AddToCollection(GraphKeys.TrainableVariables, v);
            return v;
        }
        finally { abs?.Dispose(); }
    }

    /// <summary>Opens a variable scope (and a name scope of the same name), TF1's <c>tf.variable_scope</c>.</summary>
    public IDisposable VariableScope(string name, Reuse? reuse = null, IInitializer? initializer = null)
    {
        var parent = varScopes[^1];
        string full = parent.Name.Length == 0 ? name : parent.Name + "/" + name;
        var r = reuse ?? parent.Reuse;
        if (parent.Reuse == Reuse.Yes && reuse == null) r = Reuse.Yes;
        varScopes.Add((full, r, initializer ?? parent.Init));
        var ns = NameScope(name);
        return new Popper(() => { ns.Dispose(); varScopes.RemoveAt(varScopes.Count - 1); });
    }

    /// <summary>The current variable-scope name.</summary>
    public string CurrentVariableScope => varScopes[^1].Name;

    /// <summary>Gets or creates <c>scope/name</c> (TF1's <c>tf.get_variable</c>); the default initializer is Glorot uniform
    /// for floats and zeros otherwise.</summary>
    public Variable GetVariable(string name, Shape shape, DType dtype = DType.Float32, IInitializer? initializer = null,
        bool trainable = true, Func<Tensor, Tensor>? regularizer = null)
    {
        var scope = varScopes[^1];
        string full = scope.Name.Length == 0 ? name : scope.Name + "/" + name;
        if (variablesByName.TryGetValue(full, out var existing))
        {
            if (scope.Reuse == Reuse.No)
                throw new GraphBuildException($"Variable {full} already exists, disallowed. Did you mean to set reuse=Reuse.Yes or Reuse.Auto in VariableScope?{CallSite.Describe()}");
            if (!existing.Shape.IsCompatibleWith(shape))
                throw new GraphBuildException($"Trying to share variable {full}, but specified shape {shape} and found shape {existing.Shape}{CallSite.Describe()}");
            if (existing.DType != dtype)
                throw new GraphBuildException($"Trying to share variable {full}, but specified dtype {dtype.Name()} and found dtype {existing.DType.Name()}{CallSite.Describe()}");
            return existing;
        }
        if (scope.Reuse == Reuse.Yes)
            throw new GraphBuildException($"Variable {full} does not exist, or was not created with GetVariable(). Did you mean to set reuse=Reuse.Auto in VariableScope?{CallSite.Describe()}");
        if (!shape.IsFullyDefined)
            throw new GraphBuildException($"GetVariable '{full}': shape must be fully defined, got {shape}{CallSite.Describe()}");
        var init = initializer ?? scope.Init ?? (dtype.IsFloating() ? Train.Initializers.GlorotUniform() : Train.Initializers.Zeros());
        var v = CreateVariable(null, full, trainable, absolute: true, buildInitial: () => init.Build(this, shape, dtype), shape: shape, dtype: dtype);
        if (regularizer != null)
        {
            using (NameScope(v.Name + "/Regularizer/"))
                AddToCollection(GraphKeys.RegularizationLosses, regularizer(v.Value));
        }
        return v;
    }

    /// <summary>All variables, in creation order.</summary>
    public IReadOnlyList<Variable> GlobalVariables => GetCollection<Variable>(GraphKeys.GlobalVariables);

    /// <summary>Trainable variables, in creation order.</summary>
    public IReadOnlyList<Variable> TrainableVariables => GetCollection<Variable>(GraphKeys.TrainableVariables);

    /// <summary>One op running every variable's initializer (TF1's <c>tf.global_variables_initializer()</c>).</summary>
    public Operation GlobalVariablesInitializer() => this.Group(GlobalVariables.Select(v => v.Initializer), "init");

    /// <summary>The variable whose VariableV2 node has this name, or null.</summary>
    public Variable? FindVariable(string name) => variablesByName.GetValueOrDefault(name);
}
