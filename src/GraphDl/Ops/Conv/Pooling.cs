using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using GraphDl.Devices.Cpu;
using GraphDl.Ops;
using GraphDl.Runtime;

namespace GraphDl.Ops
{
    /// <summary>Max and average pooling in NHWC (attrs <c>ksize</c>, <c>strides</c>, <c>padding</c>, <c>data_format</c>) with their
    /// gradient ops. Max pooling picks the first maximum of a window in row-major order; SAME padding never wins a max,
    /// and average pooling divides by the count of in-bounds elements only (as TF does).</summary>
    public static unsafe class PoolOps
    {
        /// <summary>Window maximum.</summary>
        public static readonly OpDef MaxPool = new()
        {
            Name = "MaxPool",
            Grad = c => [c.G.Add1(MaxPoolGrad!, [c.X(0), c.Y(), c.Dy], PoolAttrs(c))],
            Infer = c => Forward(c, 0),
            Cpu = c => Run(c, Mode.Max, c.Input(0).Dims.ToArray(), c.Input(0), null),
        };

        /// <summary>Gradient of MaxPool: inputs <c>(orig_input, orig_output, grad)</c>; each output gradient goes to its window's argmax.</summary>
        public static readonly OpDef MaxPoolGrad = new()
        {
            Name = "MaxPoolGrad",
            Grad = c =>
            {
                var g = c.G;
                return [g.ZerosLike(c.X(0)), g.ZerosLike(c.X(1)), g.Add1(MaxPoolGradGrad!, [c.X(0), c.X(1), c.Dy], PoolAttrs(c))];
            },
            Infer = c =>
            {
                var y = Forward(c, 0);
                Check(y[0].Shape, c.Shape(1), "orig_output");
                Check(y[0].Shape, c.Shape(2), "grad");
                return InferContext.One(c.DType(0), c.Shape(0));
            },
            Cpu = c => Run(c, Mode.MaxGrad, c.Input(0).Dims.ToArray(), c.Input(0), c.Input(2), c.Input(1)),
        };

        /// <summary>Gradient of MaxPoolGrad with respect to its <c>grad</c>: inputs <c>(orig_input, orig_output, grad)</c> with grad
        /// shaped like the input; picks grad at each window's argmax (output shaped like orig_output).</summary>
        public static readonly OpDef MaxPoolGradGrad = new()
        {
            Name = "MaxPoolGradGrad",
            Grad = c =>
            {
                var g = c.G;
                return [g.ZerosLike(c.X(0)), g.ZerosLike(c.X(1)), g.Add1(MaxPoolGrad, [c.X(0), c.X(1), c.Dy], PoolAttrs(c))];
            },
            Infer = c =>
            {
                var y = Forward(c, 0);
                Check(y[0].Shape, c.Shape(1), "orig_output");
                Check(c.Shape(0), c.Shape(2), "grad");
                return y;
            },
            Cpu = c => Run(c, Mode.MaxGradGrad, c.Input(0).Dims.ToArray(), c.Input(0), c.Input(2), c.Input(1)),
        };

        /// <summary>Window mean over the in-bounds elements.</summary>
        public static readonly OpDef AvgPool = new()
        {
            Name = "AvgPool",
            Grad = c => [c.G.Add1(AvgPoolGrad!, [c.G.ShapeOf(c.X(0)), c.Dy], PoolAttrs(c))],
            Infer = c => Forward(c, 0),
            Cpu = c => Run(c, Mode.Avg, c.Input(0).Dims.ToArray(), c.Input(0), null),
        };

        /// <summary>Gradient of AvgPool: inputs <c>(orig_input_shape int32[4], grad)</c>; linear, so its gradient is AvgPool.</summary>
        public static readonly OpDef AvgPoolGrad = new()
        {
            Name = "AvgPoolGrad",
            Grad = c => [null, c.G.Add1(AvgPool, [c.Dy], PoolAttrs(c))],
            Infer = c =>
            {
                if (c.DType(0) != DType.Int32 && c.DType(0) != DType.Int64) throw new ShapeError($"orig_input_shape must be int32, got {c.DType(0).Name()}");
                Families.RequireFloat(c, 1);
                var xs = c.AsShape(0);
                if (!xs.HasRank) return InferContext.One(c.DType(1), Shape.UnknownOfRank(4));
                var g = Geom(xs.Dims, c.Attrs);
                Check(new Shape(g.OutDims), c.Shape(1), "grad");
                return InferContext.One(c.DType(1), xs);
            },
            Cpu = c => Run(c, Mode.AvgGrad, ConvOps.Sizes(c.Input(0)), null, c.Input(1)),
        };

        static Attrs PoolAttrs(GradContext c) => ConvOps.CopyAttrs(c.Attrs, c.Dy.DType);

        static void Check(Shape expect, Shape got, string what)
        {
            if (!got.IsCompatibleWith(expect)) throw new ShapeError($"{what} {got} does not match the expected shape {expect}");
        }

        static OutputSpec[] Forward(InferContext c, int i)
        {
            Families.RequireFloat(c, i);
            var x = c.Shape(i);
            if (x.HasRank && x.Rank != 4) throw new ShapeError($"input must be rank 4 [batch, height, width, channels], got {x}");
            if (!x.HasRank) { Geom([-1, -1, -1, -1], c.Attrs); return InferContext.One(c.DType(i), Shape.UnknownOfRank(4)); }
            return InferContext.One(c.DType(i), new Shape(Geom(x.Dims, c.Attrs).OutDims));
        }

        internal static ConvGeom Geom(int[] x, Attrs attrs)
        {
            var (kh, kw) = ConvPadding.Spatial(attrs, "ksize");
            if (x.Length != 4) throw new ShapeError($"input must be rank 4 [batch, height, width, channels], got {Shape.Format(x)}");
            var a = new Attrs();
            foreach (var kv in attrs) a[kv.Key] = kv.Value;
            a["dilations"] = new[] { 1, 1, 1, 1 };
            var g = ConvGeom.Make(x, [kh, kw, x[3], x[3]], a, "input");
            return g;
        }

        internal enum Mode { Max, MaxGrad, MaxGradGrad, Avg, AvgGrad }

        /// <summary>The run-time geometry of one pooling kernel with its operands checked (<paramref name="b"/> the incoming
        /// gradient of the grad modes); errors name the node. Shared with the GPU kernels (GraphDl.Cuda).</summary>
        internal static ConvGeom RunGeom(KernelContext c, Mode mode, int[] xDims, NDArray? b, NDArray? origOut) => ConvPadding.AtRun(c, () =>
        {
            var gm = Geom(xDims, c.Attrs);
            var outDims = new Shape(gm.OutDims);
            if (origOut != null) Check(outDims, new Shape(origOut.Dims.ToArray()), "orig_output");
            if (mode is Mode.MaxGrad or Mode.AvgGrad) Check(outDims, new Shape(b!.Dims.ToArray()), "grad");
            if (mode == Mode.MaxGradGrad) Check(new Shape(xDims), new Shape(b!.Dims.ToArray()), "grad");
            return gm;
        });

        /// <summary>Runs one pooling kernel; <paramref name="a"/> is the original input (max modes, avg forward) and
        /// <paramref name="b"/> the incoming gradient (grad modes).</summary>
        static void Run(KernelContext c, Mode mode, int[] xDims, NDArray? a, NDArray? b, NDArray? origOut = null)
        {
            var g = RunGeom(c, mode, xDims, b, origOut);
            bool toInput = mode is Mode.MaxGrad or Mode.AvgGrad;
            var y = c.Output(0, toInput ? xDims : g.OutDims);
            var dtype = (a ?? b)!.DType;
            if (dtype == DType.Float32)
                fixed (float* pa = a == null ? null : a.Raw<float>(), pb = b == null ? null : b.Raw<float>(), py = y.Raw<float>())
                    Pool<float>.Run(c.Pool, g, (int)mode, pa, pb, py);
            else
                fixed (double* pa = a == null ? null : a.Raw<double>(), pb = b == null ? null : b.Raw<double>(), py = y.Raw<double>())
                    Pool<double>.Run(c.Pool, g, (int)mode, pa, pb, py);
        }

        static class Pool<T> where T : unmanaged, INumber<T>
        {
            public static void Run(WorkerPool pool, in ConvGeom g, int mode, T* a, T* b, T* y)
            {
                var body = new Body { G = g, Mode = mode, A = a, B = b, Y = y };
                if ((long)g.N * g.H * g.W * g.C < 1 << 14) { for (int n = 0; n < g.N; n++) body.Run(n); return; }
                pool.For(g.N, ref body);
            }

            /// <summary>Max over the window for the channels [0, vc) in whole vectors; returns vc.</summary>
            static int VecMax(T* x, T* yo, int W, int C, int h0, int h1, int w0, int w1)
            {
                int vn = Vector<T>.Count, vc = Vector.IsHardwareAccelerated ? C / vn * vn : 0;
                for (int ch = 0; ch < vc; ch += vn)
                {
                    var m = Vector.Load(x + ((long)h0 * W + w0) * C + ch);
                    for (int h = h0; h < h1; h++)
                        for (int w = w0; w < w1; w++)
                            m = Vector.Max(m, Vector.Load(x + ((long)h * W + w) * C + ch));
                    m.Store(yo + ch);
                }
                return vc;
            }

            /// <summary>Max-pool gradient for channels [0, vc) in whole vectors: each output gradient goes to the first window
            /// position holding the maximum (as the scalar path's strict comparison); returns vc.</summary>
            static int VecMaxGrad(T* x, T* dy, T* dx, int W, int C, int h0, int h1, int w0, int w1)
            {
                int vn = Vector<T>.Count, vc = Vector.IsHardwareAccelerated ? C / vn * vn : 0;
                for (int ch = 0; ch < vc; ch += vn)
                {
                    var m = Vector.Load(x + ((long)h0 * W + w0) * C + ch);
                    for (int h = h0; h < h1; h++)
                        for (int w = w0; w < w1; w++)
                            m = Vector.Max(m, Vector.Load(x + ((long)h * W + w) * C + ch));
                    var g = Vector.Load(dy + ch);
                    var left = Vector<T>.AllBitsSet;
                    for (int h = h0; h < h1; h++)
                        for (int w = w0; w < w1; w++)
                        {
                            long at = ((long)h * W + w) * C + ch;
                            var hit = Vector.Equals(Vector.Load(x + at), m) & left;
                            (Vector.Load(dx + at) + (g & hit)).Store(dx + at);
                            left &= ~hit;
                        }
                }
                return vc;
            }

            /// <summary>Max pooling (Mode 0) or its gradient (Mode 1) for one image when the channels do not fill whole vectors
            /// (a LeNet layer has 6): per output row, the maximum over the window's rows for the whole width at once (vectorized
            /// over width × channels), then over the window's columns; the gradient goes to the first window position, in
            /// row-major order, that holds the maximum (as the general path).</summary>
            static void FewChannelsMax(in ConvGeom g, int mode, T* x, T* y, T* dyAll, long o0, T* dx)
            {
                int C = g.C, wc = g.W * C;
                T* v = Scratch<T>.Get(0, wc);
                T* m = mode == 1 ? Scratch<T>.Get(1, (long)g.OW * C) : null;
                for (int oh = 0; oh < g.OH; oh++)
                {
                    int h0 = oh * g.SH - g.PT, h1 = Math.Min(h0 + g.KH, g.H);
                    h0 = Math.Max(h0, 0);
                    T* rows = x + (long)h0 * wc;
                    if (h1 - h0 == 1) v = rows;
                    else
                    {
                        var vs = new Span<T>(v, wc);
                        TensorPrimitives.Max(new ReadOnlySpan<T>(rows, wc), new ReadOnlySpan<T>(rows + wc, wc), vs);
                        for (int h = h0 + 2; h < h1; h++) TensorPrimitives.Max(vs, new ReadOnlySpan<T>(x + (long)h * wc, wc), vs);
                    }
                    T* yrow = mode == 0 ? y + o0 + (long)oh * g.OW * C : m;
                    for (int ow = 0; ow < g.OW; ow++)
                    {
                        int w0 = ow * g.SW - g.PL, w1 = Math.Min(w0 + g.KW, g.W);
                        w0 = Math.Max(w0, 0);
                        T* yo = yrow + (long)ow * C;
                        T* first = v + (long)w0 * C;
                        for (int ch = 0; ch < C; ch++) yo[ch] = first[ch];
                        for (int w = w0 + 1; w < w1; w++)
                        {
                            T* vw = v + (long)w * C;
                            for (int ch = 0; ch < C; ch++) yo[ch] = T.Max(yo[ch], vw[ch]);
                        }
                    }
                    if (mode == 0) continue;
                    T* dyrow = dyAll + o0 + (long)oh * g.OW * C;
                    if (typeof(T) == typeof(float) && Avx.IsSupported && C <= 8)
                    {
                        ScatterFloatAvx(g, (float*)x, (float*)m, (float*)dyrow, (float*)dx, h0, h1);
                        continue;
                    }
                    for (int ow = 0; ow < g.OW; ow++)
                    {
                        int w0 = ow * g.SW - g.PL, w1 = Math.Min(w0 + g.KW, g.W);
                        w0 = Math.Max(w0, 0);
                        for (int ch = 0; ch < C; ch++)
                        {
                            T mx = m[(long)ow * C + ch], d = dyrow[(long)ow * C + ch];
                            for (int h = h0; h < h1; h++)
                                for (int w = w0; w < w1; w++)
                                {
                                    long at = ((long)h * g.W + w) * C + ch;
                                    if (x[at] == mx) { dx[at] += d; goto next; }
                                }
                            next:;
                        }
                    }
                }
            }

            /// <summary>The max-pool gradient scatter of one output row in float32 for at most 8 channels: one masked 8-lane
            /// vector per window position (lanes past the channels are neither read nor written); a lane adds dy where it
            /// holds the maximum and no earlier position did, so ties go to the first position in row-major order.</summary>
            static void ScatterFloatAvx(in ConvGeom g, float* x, float* m, float* dyrow, float* dx, int h0, int h1)
            {
                int C = g.C;
                var mask = Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(C)).AsSingle();
                for (int ow = 0; ow < g.OW; ow++)
                {
                    int w0 = ow * g.SW - g.PL, w1 = Math.Min(w0 + g.KW, g.W);
                    w0 = Math.Max(w0, 0);
                    var mo = Avx.MaskLoad(m + (long)ow * C, mask);
                    var d = Avx.MaskLoad(dyrow + (long)ow * C, mask);
                    var open = mask;
                    for (int h = h0; h < h1; h++)
                        for (int w = w0; w < w1; w++)
                        {
                            long at = ((long)h * g.W + w) * C;
                            var hit = Avx.And(Avx.CompareEqual(Avx.MaskLoad(x + at, mask), mo), open);
                            Avx.MaskStore(dx + at, mask, Avx.Add(Avx.MaskLoad(dx + at, mask), Avx.And(d, hit)));
                            open = Avx.AndNot(hit, open);
                        }
                }
            }

            struct Body : IParallelBody
            {
                public ConvGeom G; public int Mode; public T* A, B, Y;

                public readonly void Run(int n)
                {
                    var g = G;
                    int C = g.C;
                    long img = (long)g.H * g.W * C, oimg = (long)g.OH * g.OW * C;
                    T* x = A == null ? null : A + n * img;
                    T* dx = Y + n * img;
                    if (Mode is 1 or 4) new Span<T>(dx, (int)img).Clear();
                    if (Mode is 0 or 1 && Vector.IsHardwareAccelerated && C % Vector<T>.Count != 0)
                    {
                        FewChannelsMax(g, Mode, x, Y, B, n * oimg, dx);
                        return;
                    }
                    Span<T> bv = C <= 512 ? stackalloc T[C] : new T[C];
                    Span<int> bi = C <= 512 ? stackalloc int[C] : new int[C];
                    for (int oh = 0; oh < g.OH; oh++)
                    {
                        int h0 = oh * g.SH - g.PT, h1 = Math.Min(h0 + g.KH, g.H);
                        h0 = Math.Max(h0, 0);
                        for (int ow = 0; ow < g.OW; ow++)
                        {
                            int w0 = ow * g.SW - g.PL, w1 = Math.Min(w0 + g.KW, g.W);
                            w0 = Math.Max(w0, 0);
                            long o = n * oimg + ((long)oh * g.OW + ow) * C;
                            T* yo = Y + o;
                            switch (Mode)
                            {
                                case 0: // max
                                {
                                    T* first = x + ((long)h0 * g.W + w0) * C;
                                    int vc = VecMax(x, yo, g.W, C, h0, h1, w0, w1);
                                    for (int ch = vc; ch < C; ch++) yo[ch] = first[ch];
                                    for (int h = h0; h < h1; h++)
                                        for (int w = w0; w < w1; w++)
                                        {
                                            T* v = x + ((long)h * g.W + w) * C;
                                            for (int ch = vc; ch < C; ch++) if (v[ch] > yo[ch]) yo[ch] = v[ch];
                                        }
                                    break;
                                }
                                case 3: // avg
                                {
                                    for (int ch = 0; ch < C; ch++) yo[ch] = T.Zero;
                                    for (int h = h0; h < h1; h++)
                                        for (int w = w0; w < w1; w++)
                                        {
                                            T* v = x + ((long)h * g.W + w) * C;
                                            for (int ch = 0; ch < C; ch++) yo[ch] += v[ch];
                                        }
                                    T inv = T.One / T.CreateTruncating((h1 - h0) * (w1 - w0));
                                    for (int ch = 0; ch < C; ch++) yo[ch] *= inv;
                                    break;
                                }
                                case 4: // avg grad
                                {
                                    T inv = T.One / T.CreateTruncating((h1 - h0) * (w1 - w0));
                                    T* dy = B + o;
                                    for (int h = h0; h < h1; h++)
                                        for (int w = w0; w < w1; w++)
                                        {
                                            T* d = dx + ((long)h * g.W + w) * C;
                                            for (int ch = 0; ch < C; ch++) d[ch] += dy[ch] * inv;
                                        }
                                    break;
                                }
                                default: // 1: max grad (scatter to argmax), 2: max grad-grad (gather from argmax)
                                {
                                    int f0 = (h0 * g.W + w0) * C;
                                    int vc = Mode == 1 ? VecMaxGrad(x, B + o, dx, g.W, C, h0, h1, w0, w1) : 0;
                                    if (vc == C) break;
                                    for (int ch = 0; ch < C; ch++) { bv[ch] = x[f0 + ch]; bi[ch] = f0 + ch; }
                                    for (int h = h0; h < h1; h++)
                                        for (int w = w0; w < w1; w++)
                                        {
                                            int at = (h * g.W + w) * C;
                                            T* v = x + at;
                                            for (int ch = 0; ch < C; ch++) if (v[ch] > bv[ch]) { bv[ch] = v[ch]; bi[ch] = at + ch; }
                                        }
                                    if (Mode == 1) { T* dy = B + o; for (int ch = vc; ch < C; ch++) dx[bi[ch]] += dy[ch]; }
                                    else { T* src = B + n * img; for (int ch = 0; ch < C; ch++) yo[ch] = src[bi[ch]]; }
                                    break;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

namespace GraphDl
{
    /// <summary>Builders for pooling (TF's <c>tf.nn.max_pool</c>, <c>tf.nn.avg_pool</c>).</summary>
    public static class PoolBuilders
    {
        static Attrs Attrs(DType t, int[] ksize, int[]? strides, string padding) => new()
        {
            ["ksize"] = ConvBuilders.Nhwc(ksize, "ksize"),
            ["strides"] = ConvBuilders.Nhwc(strides ?? ksize, "strides"),
            ["padding"] = padding,
            ["data_format"] = "NHWC",
            ["T"] = t,
        };

        /// <summary><c>tf.nn.max_pool(x, ksize, strides, padding)</c>; ksize and strides as 1, 2 or 4 (NHWC) entries, strides default to ksize.</summary>
        public static Tensor MaxPool(this Graph g, Tensor x, int[] ksize, int[]? strides = null, string padding = "VALID", string? name = null) =>
            g.Add1(PoolOps.MaxPool, [x], Attrs(x.DType, ksize, strides, padding), name);

        /// <summary><c>tf.nn.avg_pool(x, ksize, strides, padding)</c>; the mean counts in-bounds elements only.</summary>
        public static Tensor AvgPool(this Graph g, Tensor x, int[] ksize, int[]? strides = null, string padding = "VALID", string? name = null) =>
            g.Add1(PoolOps.AvgPool, [x], Attrs(x.DType, ksize, strides, padding), name);

        /// <summary>TF's raw <c>MaxPoolGrad(orig_input, orig_output, grad)</c>.</summary>
        public static Tensor MaxPoolGrad(this Graph g, Tensor origInput, Tensor origOutput, Tensor grad, int[] ksize, int[]? strides = null,
            string padding = "VALID", string? name = null) =>
            g.Add1(PoolOps.MaxPoolGrad, [origInput, origOutput, grad], Attrs(origInput.DType, ksize, strides, padding), name);

        /// <summary>TF's raw <c>AvgPoolGrad(orig_input_shape, grad)</c>.</summary>
        public static Tensor AvgPoolGrad(this Graph g, Tensor origInputShape, Tensor grad, int[] ksize, int[]? strides = null,
            string padding = "VALID", string? name = null) =>
            g.Add1(PoolOps.AvgPoolGrad, [origInputShape, grad], Attrs(grad.DType, ksize, strides, padding), name);
    }
}
