using GraphDl.Ops;

namespace GraphDl.Ops
{
    /// <summary>Constants, placeholders, identity, no-op and stop-gradient.</summary>
    public static class StateOps
    {
        /// <summary>A constant value stored in the node.</summary>
        public static readonly OpDef Const = new()
        {
            Name = "Const", Grad = null,
            Infer = c => InferContext.One(c.Attrs.Value("value").DType, c.Attrs.Value("value").Shape),
            Cpu = c => c.Forward(0, c.Attrs.Value("value")),
        };

        /// <summary>A value fed at run time.</summary>
        public static readonly OpDef Placeholder = new()
        {
            Name = "Placeholder", Grad = null,
            Infer = c => InferContext.One(c.Attrs.DType("dtype"), c.Attrs.Shape("shape")),
            Cpu = c => throw c.Error("placeholder was not fed"),
        };

        /// <summary>A placeholder that passes its input through when not fed.</summary>
        public static readonly OpDef PlaceholderWithDefault = new()
        {
            Name = "PlaceholderWithDefault", Grad = null, Aliases = true,
            Infer = c =>
            {
                var s = c.Attrs.Shape("shape");
                if (!s.IsCompatibleWith(c.Shape(0))) throw new ShapeError($"default of shape {c.Shape(0)} does not fit {s}");
                return InferContext.One(c.DType(0), s);
            },
            Cpu = c => c.Forward(0, c.Input(0)),
        };

        /// <summary>Passes its input through.</summary>
        public static readonly OpDef Identity = new()
        {
            Name = "Identity", Grad = c => [c.Dy], Aliases = true,
            Infer = c => InferContext.One(c.DType(0), c.Shape(0)),
            Cpu = c => c.Forward(0, c.Input(0)),
        };

        /// <summary>Passes its input through, and blocks gradients.</summary>
        public static readonly OpDef StopGradient = new()
        {
            Name = "StopGradient", Grad = null, Aliases = true,
            Infer = c => InferContext.One(c.DType(0), c.Shape(0)),
            Cpu = c => c.Forward(0, c.Input(0)),
        };

        /// <summary>Does nothing; groups control dependencies.</summary>
        public static readonly OpDef NoOp = new()
        {
            Name = "NoOp", Grad = null,
            Infer = _ => [],
            Cpu = _ => { },
        };
    }
}

namespace GraphDl
{
    /// <summary>Builders for constants, placeholders and plumbing.</summary>
    public static class StateBuilders
    {
        /// <summary>A constant.</summary>
        public static Tensor Const(this Graph g, NDArray value, string? name = null) =>
            g.Add1(StateOps.Const, [], new Attrs { ["value"] = value.Clone(), ["dtype"] = value.DType }, name ?? "Const");

        /// <summary>A scalar constant of the given dtype.</summary>
        public static Tensor Scalar(this Graph g, double value, DType dtype, string? name = null) => g.Const(dtype switch
        {
            DType.Float32 => NDArray.Scalar((float)value),
            DType.Float64 => NDArray.Scalar(value),
            DType.Int32 => NDArray.Scalar((int)value),
            DType.Int64 => NDArray.Scalar((long)value),
            DType.UInt8 => NDArray.Scalar((byte)value),
            DType.Bool => NDArray.Scalar(value != 0),
            _ => throw new ArgumentException($"no numeric scalar of dtype {dtype.Name()}"),
        }, name);

        /// <summary>A value fed at run time; -1 dims are unknown (the batch size).</summary>
        public static Tensor Placeholder(this Graph g, DType dtype, Shape? shape = null, string? name = null) =>
            g.Add1(StateOps.Placeholder, [], new Attrs { ["dtype"] = dtype, ["shape"] = shape ?? Shape.Unknown }, name ?? "Placeholder");

        /// <summary>A placeholder that evaluates to <paramref name="input"/> when not fed (a <c>training</c> flag).</summary>
        public static Tensor PlaceholderWithDefault(this Graph g, Tensor input, Shape? shape = null, string? name = null) =>
            g.Add1(StateOps.PlaceholderWithDefault, [input], new Attrs { ["dtype"] = input.DType, ["shape"] = shape ?? input.Shape }, name ?? "PlaceholderWithDefault");

        /// <summary>Passes the input through.</summary>
        public static Tensor Identity(this Graph g, Tensor x, string? name = null) => g.Add1(StateOps.Identity, [x], null, name);

        /// <summary>Passes the input through and blocks its gradient.</summary>
        public static Tensor StopGradient(this Graph g, Tensor x, string? name = null) => g.Add1(StateOps.StopGradient, [x], null, name);

        /// <summary>An op that does nothing.</summary>
        public static Operation NoOp(this Graph g, string? name = null) => g.AddOp(StateOps.NoOp, [], null, name);

        /// <summary>One op that runs all of <paramref name="ops"/> (TF1's <c>tf.group</c>).</summary>
        public static Operation Group(this Graph g, IEnumerable<Operation> ops, string? name = null) =>
            g.AddOp(StateOps.NoOp, [], null, name ?? "group_deps", ops.ToArray());
    }
}
