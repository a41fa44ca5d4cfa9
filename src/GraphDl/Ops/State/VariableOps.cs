namespace GraphDl.Ops;

/// <summary>Variable storage and assignment. Values live in the <see cref="Session"/>.</summary>
public static class VariableOps
{
    /// <summary>A variable: its output is the session's current value.</summary>
    public static readonly OpDef VariableV2 = new()
    {
        Name = "VariableV2", Grad = null, Stateful = true,
        Infer = c => InferContext.One(c.Attrs.DType("dtype"), c.Attrs.Shape("shape")),
        // NOTE: an uninitialized variable outputs null; reading it fails in KernelContext.Input, naming the variable,
        // while Assign (which never reads input 0) can still initialize it.
        Cpu = c => c.Forward(0, c.Session.IsInitialized(c.Node) ? c.Session.ReadVariable(c.Node) : null!),
    };

    /// <summary><c>ref = value</c>; outputs the new value.</summary>
    public static readonly OpDef Assign = new()
    {
        Name = "Assign", Grad = null, Stateful = true, Aliases = true, RefInputs = 1,
        Infer = c => { CheckRef(c); return InferContext.One(c.DType(0), c.Shape(0)); },
        Cpu = c =>
        {
            var v = c.Node.Inputs[0].Op;
            var value = c.Input(1);
            if (!c.Node.Inputs[0].Shape.Accepts(value.Dims))
                throw c.Error($"cannot assign a value of shape {Shape.Format(value.Dims)} to variable '{v.Name}' of shape {c.Node.Inputs[0].Shape}");
            c.Forward(0, c.Session.WriteVariable(v, value));
        },
    };

    /// <summary><c>ref += value</c>; outputs the new value.</summary>
    public static readonly OpDef AssignAdd = Update("AssignAdd", +1);

    /// <summary><c>ref -= value</c>; outputs the new value.</summary>
    public static readonly OpDef AssignSub = Update("AssignSub", -1);

    static OpDef Update(string name, int sign) => new()
    {
        Name = name, Grad = null, Stateful = true, Aliases = true, RefInputs = 1,
        Infer = c =>
        {
            CheckRef(c);
            if (!c.Shape(0).IsCompatibleWith(c.Shape(1))) throw new ShapeError($"value shape {c.Shape(1)} differs from variable shape {c.Shape(0)}");
            return InferContext.One(c.DType(0), c.Shape(0));
        },
        Cpu = c =>
        {
            var cur = c.Input(0);
            var d = c.Input(1);
            if (d.Size != cur.Size) throw c.Error($"value of shape {Shape.Format(d.Dims)} for variable of shape {Shape.Format(cur.Dims)}");
            switch (cur.DType)
            {
                case DType.Float32: Axpy(cur.AsSpan<float>(), d.AsSpan<float>(), sign); break;
                case DType.Float64: Axpy(cur.AsSpan<double>(), d.AsSpan<double>(), sign); break;
                case DType.Int32: Axpy(cur.AsSpan<int>(), d.AsSpan<int>(), sign); break;
                case DType.Int64: Axpy(cur.AsSpan<long>(), d.AsSpan<long>(), sign); break;
                default: throw c.Error($"{cur.DType.Name()} is not supported");
            }
            c.Forward(0, cur);
        },
    };

    static void Axpy<T>(Span<T> x, ReadOnlySpan<T> d, int sign) where T : System.Numerics.INumber<T>
    {
        if (sign > 0) for (int i = 0; i < x.Length; i++) x[i] += d[i];
        else for (int i = 0; i < x.Length; i++) x[i] -= d[i];
    }

    internal static void CheckRef(InferContext c)
    {
        if (c.Inputs[0].Op.Type != "VariableV2")
            throw new ShapeError($"input 0 must be a variable, got {c.Inputs[0].Op}");
        if (c.Inputs.Length > 1 && c.DType(1) != c.DType(0))
            throw new ShapeError($"value dtype {c.DType(1).Name()} differs from variable dtype {c.DType(0).Name()}");
    }
}
