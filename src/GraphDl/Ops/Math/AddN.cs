using System.Numerics.Tensors;
using GraphDl.Ops;

namespace GraphDl.Ops
{
    /// <summary>Sum of any number of same-shaped tensors; the gradient autodiff uses to add fan-out.</summary>
    public static class AddNOp
    {
        /// <summary>The op row.</summary>
        public static readonly OpDef Def = new()
        {
            Name = "AddN",
            Grad = c => c.Op.Inputs.Select(_ => (Tensor?)c.Dy).ToArray(),
            Infer = c =>
            {
                if (c.Inputs.Length == 0) throw new ShapeError("needs at least one input");
                Families.SameDType(c);
                var s = c.Shape(0);
                for (int i = 1; i < c.Inputs.Length; i++)
                {
                    if (!s.IsCompatibleWith(c.Shape(i))) throw new ShapeError($"input shapes differ, {c.Shape(0)} and {c.Shape(i)}");
                    s = s.MergeWith(c.Shape(i));
                }
                return InferContext.One(c.DType(0), s);
            },
            Cpu = c =>
            {
                var x0 = c.Input(0);
                for (int i = 1; i < c.InputCount; i++)
                    if (!c.Input(i).Dims.SequenceEqual(x0.Dims))
                        throw c.Error($"input shapes differ, {Shape.Format(x0.Dims)} and {Shape.Format(c.Input(i).Dims)}");
                var y = c.Output(0, x0.Dims);
                if (x0.DType == DType.Float32)
                {
                    var sy = y.AsSpan<float>();
                    TensorPrimitives.Add(x0.AsSpan<float>(), c.Input(Math.Min(1, c.InputCount - 1)).AsSpan<float>(), sy);
                    if (c.InputCount == 1) x0.AsSpan<float>().CopyTo(sy);
                    for (int i = 2; i < c.InputCount; i++) TensorPrimitives.Add(sy, c.Input(i).AsSpan<float>(), sy);
                }
                else if (x0.DType == DType.Float64)
                {
                    var sy = y.AsSpan<double>();
                    TensorPrimitives.Add(x0.AsSpan<double>(), c.Input(Math.Min(1, c.InputCount - 1)).AsSpan<double>(), sy);
                    if (c.InputCount == 1) x0.AsSpan<double>().CopyTo(sy);
                    for (int i = 2; i < c.InputCount; i++) TensorPrimitives.Add(sy, c.Input(i).AsSpan<double>(), sy);
                }
                else throw c.Error($"AddN of {x0.DType.Name()} is not supported");
            },
        };
    }
}

namespace GraphDl
{
    /// <summary>Builder for AddN.</summary>
    public static class AddNBuilder
    {
        /// <summary>Sum of same-shaped tensors.</summary>
        public static Tensor AddN(this Graph g, IReadOnlyList<Tensor> xs, string? name = null) =>
            xs.Count == 1 ? xs[0] : g.Add1(AddNOp.Def, xs.ToArray(), new Attrs { ["N"] = xs.Count }, name);
    }
}
