using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Runtime.InteropServices;
using System.Numerics;
using GraphDl.Ops;
using GraphDl.Runtime;

namespace GraphDl.Ops
{
    /// <summary>Comparisons, logic, select and cast. None is differentiable except Select (through its branches) and Cast.</summary>
    public static class CompareOps
    {
        /// <summary>A comparison functor (exposed as <see cref="OpDef.Functor"/> so that other devices instantiate their
        /// kernels over it).</summary>
        public interface ICmp
        {
            /// <summary>The comparison.</summary>
            static abstract bool Test<T>(T a, T b) where T : INumber<T>;
        }
        readonly struct Lt : ICmp { public static bool Test<T>(T a, T b) where T : INumber<T> => a < b; }
        readonly struct Le : ICmp { public static bool Test<T>(T a, T b) where T : INumber<T> => a <= b; }
        readonly struct Gt : ICmp { public static bool Test<T>(T a, T b) where T : INumber<T> => a > b; }
        readonly struct Ge : ICmp { public static bool Test<T>(T a, T b) where T : INumber<T> => a >= b; }
        readonly struct Eq : ICmp { public static bool Test<T>(T a, T b) where T : INumber<T> => a == b; }
        readonly struct Ne : ICmp { public static bool Test<T>(T a, T b) where T : INumber<T> => a != b; }

        readonly struct CmpZip<TC, T> : IZip<T, bool> where TC : ICmp where T : INumber<T>
        {
            public static void Zip(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<bool> y) { for (int i = 0; i < y.Length; i++) y[i] = TC.Test(a[i], b[i]); }
            public static void ScalarA(T a, ReadOnlySpan<T> b, Span<bool> y) { for (int i = 0; i < y.Length; i++) y[i] = TC.Test(a, b[i]); }
            public static void ScalarB(ReadOnlySpan<T> a, T b, Span<bool> y) { for (int i = 0; i < y.Length; i++) y[i] = TC.Test(a[i], b); }
        }

        static OpDef Cmp<TC>(string name) where TC : ICmp => new()
        {
            Name = name, Grad = null, Functor = typeof(TC),
            Infer = c =>
            {
                Families.SameDType(c);
                return InferContext.One(DType.Bool, Broadcast.Shapes(c.Shape(0), c.Shape(1)));
            },
            Cpu = c =>
            {
                var (a, b, y) = Families.BroadcastOut(c, DType.Bool);
                switch (a.DType)
                {
                    case DType.Float32: Broadcast.Run<CmpZip<TC, float>, float, bool>(a, b, y); break;
                    case DType.Float64: Broadcast.Run<CmpZip<TC, double>, double, bool>(a, b, y); break;
                    case DType.Int32: Broadcast.Run<CmpZip<TC, int>, int, bool>(a, b, y); break;
                    case DType.Int64: Broadcast.Run<CmpZip<TC, long>, long, bool>(a, b, y); break;
                    case DType.UInt8: Broadcast.Run<CmpZip<TC, byte>, byte, bool>(a, b, y); break;
                    case DType.Bool when typeof(TC) == typeof(Eq) || typeof(TC) == typeof(Ne):
                        Broadcast.Run<LogicZip<BoolEq<TC>>, bool, bool>(a, b, y); break;
                    default: throw c.Error($"cannot compare {a.DType.Name()}");
                }
            },
        };

        interface ILogic { static abstract bool Apply(bool a, bool b); }
        readonly struct And : ILogic { public static bool Apply(bool a, bool b) => a & b; }
        readonly struct Or : ILogic { public static bool Apply(bool a, bool b) => a | b; }
        readonly struct BoolEq<TC> : ILogic where TC : ICmp { public static bool Apply(bool a, bool b) => typeof(TC) == typeof(Eq) ? a == b : a != b; }

        readonly struct LogicZip<TL> : IZip<bool, bool> where TL : ILogic
        {
            public static void Zip(ReadOnlySpan<bool> a, ReadOnlySpan<bool> b, Span<bool> y) { for (int i = 0; i < y.Length; i++) y[i] = TL.Apply(a[i], b[i]); }
            public static void ScalarA(bool a, ReadOnlySpan<bool> b, Span<bool> y) { for (int i = 0; i < y.Length; i++) y[i] = TL.Apply(a, b[i]); }
            public static void ScalarB(ReadOnlySpan<bool> a, bool b, Span<bool> y) { for (int i = 0; i < y.Length; i++) y[i] = TL.Apply(a[i], b); }
        }

        static OpDef Logic<TL>(string name) where TL : ILogic => new()
        {
            Name = name, Grad = null,
            Infer = c =>
            {
                if (c.DType(0) != DType.Bool || c.DType(1) != DType.Bool)
                    throw new ShapeError($"needs bool inputs, got {c.DType(0).Name()} and {c.DType(1).Name()}");
                return InferContext.One(DType.Bool, Broadcast.Shapes(c.Shape(0), c.Shape(1)));
            },
            Cpu = c => { var (a, b, y) = Families.BroadcastOut(c); Broadcast.Run<LogicZip<TL>, bool, bool>(a, b, y); },
        };

        /// <summary><c>a &lt; b</c></summary>
        public static readonly OpDef Less = Cmp<Lt>("Less");
        /// <summary><c>a &lt;= b</c></summary>
        public static readonly OpDef LessEqual = Cmp<Le>("LessEqual");
        /// <summary><c>a &gt; b</c></summary>
        public static readonly OpDef Greater = Cmp<Gt>("Greater");
        /// <summary><c>a &gt;= b</c></summary>
        public static readonly OpDef GreaterEqual = Cmp<Ge>("GreaterEqual");
        /// <summary><c>a == b</c></summary>
        public static readonly OpDef Equal = Cmp<Eq>("Equal");
        /// <summary><c>a != b</c></summary>
        public static readonly OpDef NotEqual = Cmp<Ne>("NotEqual");
        /// <summary>Logical and.</summary>
        public static readonly OpDef LogicalAnd = Logic<And>("LogicalAnd");
        /// <summary>Logical or.</summary>
        public static readonly OpDef LogicalOr = Logic<Or>("LogicalOr");

        /// <summary>Logical not.</summary>
        public static readonly OpDef LogicalNot = new()
        {
            Name = "LogicalNot", Grad = null,
            Infer = c => c.DType(0) == DType.Bool ? InferContext.One(DType.Bool, c.Shape(0)) : throw new ShapeError($"needs bool, got {c.DType(0).Name()}"),
            Cpu = c =>
            {
                var x = c.Input(0).AsSpan<bool>(); var y = c.Output(0, c.Input(0).Dims).AsSpan<bool>();
                for (int i = 0; i < x.Length; i++) y[i] = !x[i];
            },
        };

        /// <summary><c>cond ? a : b</c> elementwise with broadcasting of all three (TF2's <c>where</c>, TF1's <c>SelectV2</c>).</summary>
        public static readonly OpDef SelectV2 = new()
        {
            Name = "SelectV2",
            Grad = c =>
            {
                var zeros = c.G.ZerosLike(c.Dy);
                return [null, c.ReduceTo(c.G.Where(c.X(0), c.Dy, zeros), 1), c.ReduceTo(c.G.Where(c.X(0), zeros, c.Dy), 2)];
            },
            Infer = c =>
            {
                if (c.DType(0) != DType.Bool) throw new ShapeError($"condition must be bool, got {c.DType(0).Name()}");
                if (c.DType(1) != c.DType(2)) throw new ShapeError($"branches differ in dtype, {c.DType(1).Name()} and {c.DType(2).Name()}");
                return InferContext.One(c.DType(1), Broadcast.Shapes(Broadcast.Shapes(c.Shape(0), c.Shape(1)), c.Shape(2)));
            },
            Cpu = c =>
            {
                var (cond, a, b) = (c.Input(0), c.Input(1), c.Input(2));
                NDArray y;
                if (cond.Dims.SequenceEqual(a.Dims) && a.Dims.SequenceEqual(b.Dims)) y = c.Output(0, a.Dims, a.DType);
                else
                {
                    int r = Math.Max(cond.Rank, Math.Max(a.Rank, b.Rank));
                    Span<int> d1 = stackalloc int[r], dims = stackalloc int[r];
                    if (!Broadcast.Dims(cond.Dims, a.Dims, d1) || !Broadcast.Dims(d1, b.Dims, dims))
                        throw c.Error($"incompatible shapes {Shape.Format(cond.Dims)}, {Shape.Format(a.Dims)}, {Shape.Format(b.Dims)}");
                    y = c.Output(0, dims, a.DType);
                }
                switch (a.DType)
                {
                    case DType.Float32: Select<float>(cond, a, b, y); break;
                    case DType.Float64: Select<double>(cond, a, b, y); break;
                    case DType.Int32: Select<int>(cond, a, b, y); break;
                    case DType.Int64: Select<long>(cond, a, b, y); break;
                    case DType.Bool: Select<bool>(cond, a, b, y); break;
                    default: Select<byte>(cond, a, b, y); break;
                }
            },
        };

        static void Select<T>(NDArray cond, NDArray a, NDArray b, NDArray y) where T : unmanaged
        {
            var sc = cond.AsSpan<bool>(); var sa = a.AsSpan<T>(); var sb = b.AsSpan<T>(); var sy = y.AsSpan<T>();
            if (sc.Length == sy.Length && sa.Length == sy.Length && sb.Length == sy.Length)
            {
                if (typeof(T) == typeof(float) || typeof(T) == typeof(int))
                {
                    // Branch-free on the bits: y = b ^ ((a ^ b) & mask), mask all ones where cond is true.
                    var ia = MemoryMarshal.Cast<T, int>(sa); var ib = MemoryMarshal.Cast<T, int>(sb); var iy = MemoryMarshal.Cast<T, int>(sy);
                    var bc = MemoryMarshal.Cast<bool, byte>(sc);
                    int n = iy.Length;
                    if (ia.Length < n || ib.Length < n || bc.Length < n) throw new ArgumentException("select operands are shorter than the output");
                    ref int ra = ref MemoryMarshal.GetReference(ia), rb = ref MemoryMarshal.GetReference(ib), ry = ref MemoryMarshal.GetReference(iy);
                    ref byte rc = ref MemoryMarshal.GetReference(bc);
                    int i = 0;
                    if (Avx512F.IsSupported)
                    {
                        // 16 conditions at a time: bytes widened to int lanes, then a lane-wise select.
                        for (; i <= n - 16; i += 16)
                        {
                            var cb = Vector128.LoadUnsafe(ref rc, (nuint)i);
                            var mask = Vector512.Equals(Avx512F.ConvertToVector512Int32(cb),
                                Vector512<int>.Zero);
                            var va = Vector512.LoadUnsafe(ref ra, (nuint)i);
                            var vb = Vector512.LoadUnsafe(ref rb, (nuint)i);
                            Vector512.StoreUnsafe(Vector512.ConditionalSelect(mask, vb, va), ref ry, (nuint)i);
                        }
                    }
                    for (; i < n; i++)
                    {
                        int bv = Unsafe.Add(ref rb, i);
                        Unsafe.Add(ref ry, i) = bv ^ ((Unsafe.Add(ref ra, i) ^ bv) & (Unsafe.Add(ref rc, i) != 0 ? -1 : 0));
                    }
                    return;
                }
                for (int i = 0; i < sy.Length; i++) sy[i] = sc[i] ? sa[i] : sb[i];
                return;
            }
            var ydims = y.Dims;
            Span<int> idx = stackalloc int[ydims.Length];
            for (int i = 0; i < sy.Length; i++)
            {
                int rem = i;
                for (int d = ydims.Length - 1; d >= 0; d--) { idx[d] = rem % ydims[d]; rem /= ydims[d]; }
                sy[i] = sc[Offset(cond.Dims, idx)] ? sa[Offset(a.Dims, idx)] : sb[Offset(b.Dims, idx)];
            }
        }

        /// <summary>Flat offset of a broadcast index into an array of dims <paramref name="dims"/>.</summary>
        internal static int Offset(ReadOnlySpan<int> dims, ReadOnlySpan<int> idx)
        {
            int off = 0, shift = idx.Length - dims.Length;
            for (int d = 0; d < dims.Length; d++) off = off * dims[d] + (dims[d] == 1 ? 0 : idx[d + shift]);
            return off;
        }

        /// <summary>Converts between dtypes (bool → 0/1; float → int truncates toward zero).</summary>
        public static readonly OpDef Cast = new()
        {
            Name = "Cast", Aliases = true,
            Grad = c => c.X(0).DType.IsFloating() && c.Y().DType.IsFloating() ? [c.G.Cast(c.Dy, c.X(0).DType)] : [null],
            Infer = c => InferContext.One(c.Attrs.DType("DstT"), c.Shape(0)),
            Cpu = c =>
            {
                var x = c.Input(0);
                var to = c.Attrs.DType("DstT");
                if (x.DType == to) { c.Forward(0, x); return; }
                var y = c.Output(0, x.Dims, to);
                CastKernel(x, y);
            },
        };

        internal static void CastKernel(NDArray x, NDArray y)
        {
            int n = x.Size;
            switch (y.DType)
            {
                case DType.Float32: { var s = y.AsSpan<float>(); if (x.DType == DType.Float64) { var d = x.AsSpan<double>(); for (int i = 0; i < n; i++) s[i] = (float)d[i]; } else for (int i = 0; i < n; i++) s[i] = (float)x.GetDouble(i); break; }
                case DType.Float64: { var s = y.AsSpan<double>(); for (int i = 0; i < n; i++) s[i] = x.GetDouble(i); break; }
                case DType.Int32: { var s = y.AsSpan<int>(); for (int i = 0; i < n; i++) s[i] = (int)x.GetDouble(i); break; }
                case DType.Int64: { var s = y.AsSpan<long>(); if (x.DType == DType.Int32) { var d = x.AsSpan<int>(); for (int i = 0; i < n; i++) s[i] = d[i]; } else for (int i = 0; i < n; i++) s[i] = (long)x.GetDouble(i); break; }
                case DType.UInt8: { var s = y.AsSpan<byte>(); for (int i = 0; i < n; i++) s[i] = (byte)x.GetDouble(i); break; }
                case DType.Bool: { var s = y.AsSpan<bool>(); for (int i = 0; i < n; i++) s[i] = x.GetDouble(i) != 0; break; }
                default: throw new SessionRunException($"cannot cast {x.DType.Name()} to {y.DType.Name()}");
            }
        }
    }
}

namespace GraphDl
{
    /// <summary>Builders for comparisons, logic, select and cast.</summary>
    public static class CompareBuilders
    {
        /// <summary><c>a &lt; b</c></summary>
        public static Tensor Less(this Graph g, Tensor a, Tensor b, string? name = null) => g.Add1(CompareOps.Less, [a, b], null, name);
        /// <summary><c>a &lt;= b</c></summary>
        public static Tensor LessEqual(this Graph g, Tensor a, Tensor b, string? name = null) => g.Add1(CompareOps.LessEqual, [a, b], null, name);
        /// <summary><c>a &gt; b</c></summary>
        public static Tensor Greater(this Graph g, Tensor a, Tensor b, string? name = null) => g.Add1(CompareOps.Greater, [a, b], null, name);
        /// <summary><c>a &gt;= b</c></summary>
        public static Tensor GreaterEqual(this Graph g, Tensor a, Tensor b, string? name = null) => g.Add1(CompareOps.GreaterEqual, [a, b], null, name);
        /// <summary><c>a == b</c></summary>
        public static Tensor Equal(this Graph g, Tensor a, Tensor b, string? name = null) => g.Add1(CompareOps.Equal, [a, b], null, name);
        /// <summary><c>a != b</c></summary>
        public static Tensor NotEqual(this Graph g, Tensor a, Tensor b, string? name = null) => g.Add1(CompareOps.NotEqual, [a, b], null, name);
        /// <summary>Logical and.</summary>
        public static Tensor LogicalAnd(this Graph g, Tensor a, Tensor b, string? name = null) => g.Add1(CompareOps.LogicalAnd, [a, b], null, name);
        /// <summary>Logical or.</summary>
        public static Tensor LogicalOr(this Graph g, Tensor a, Tensor b, string? name = null) => g.Add1(CompareOps.LogicalOr, [a, b], null, name);
        /// <summary>Logical not.</summary>
        public static Tensor LogicalNot(this Graph g, Tensor a, string? name = null) => g.Add1(CompareOps.LogicalNot, [a], null, name);
        /// <summary><c>cond ? a : b</c> elementwise, with broadcasting.</summary>
        public static Tensor Where(this Graph g, Tensor cond, Tensor a, Tensor b, string? name = null) => g.Add1(CompareOps.SelectV2, [cond, a, b], null, name);
        /// <summary>Converts to another dtype.</summary>
        public static Tensor Cast(this Graph g, Tensor x, DType dtype, string? name = null) =>
            g.Add1(CompareOps.Cast, [x], new Attrs { ["SrcT"] = x.DType, ["DstT"] = dtype }, name);
    }
}
