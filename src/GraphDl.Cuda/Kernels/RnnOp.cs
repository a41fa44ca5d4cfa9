using System.Numerics;
using System.Reflection;
using GraphDl.Ops;
using GraphDl.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace GraphDl.Cuda.Kernels;

/// <summary>Host side of the six fused RNN ops: the op files' run-time checks (<c>Rnn.Dims</c>, <c>Rnn.Lengths</c>, ...),
/// then per time step one GEMM (the recurrent product, accumulated into the step's slice of the pre-activations) and the
/// step kernels of <see cref="RnnKernels"/>; the input products of all steps are one GEMM up front, the weight gradients
/// of all steps one GEMM at the end. seq_len is read on the host (validated there, then copied to the GPU).</summary>
internal static class RnnOp
{
    static void Dispatch(KernelContext c, Action f64, Action f32)
    {
        var t = c.Input(0).DType;
        if (t == DType.Float32) f32();
        else if (t == DType.Float64) f64();
        else throw c.Error($"{c.Node.Type} of {t.Name()} has no GPU kernel");
    }

    public static void RnnForward(KernelContext c, CudaDevice d) => Dispatch(c, () => RnnForward<double>(c, d), () => RnnForward<float>(c, d));
    public static void RnnBackward(KernelContext c, CudaDevice d) => Dispatch(c, () => RnnBackward<double>(c, d), () => RnnBackward<float>(c, d));
    public static void GruForward(KernelContext c, CudaDevice d) => Dispatch(c, () => GruForward<double>(c, d), () => GruForward<float>(c, d));
    public static void GruBackward(KernelContext c, CudaDevice d) => Dispatch(c, () => GruBackward<double>(c, d), () => GruBackward<float>(c, d));
    public static void LstmForward(KernelContext c, CudaDevice d) => Dispatch(c, () => LstmForward<double>(c, d), () => LstmForward<float>(c, d));
    public static void LstmBackward(KernelContext c, CudaDevice d) => Dispatch(c, () => LstmBackward<double>(c, d), () => LstmBackward<float>(c, d));

    /// <summary>The validated lengths (the CPU kernel's check and message) in a temporary int32 GPU buffer.</summary>
    static NDArray Lengths(KernelContext c, CudaDevice d, int B, int T)
    {
        var lens = Rnn.Lengths(c, c.Input(1), B, T);
        try
        {
            var host = NDArray.From(lens.AsSpan(0, Math.Max(B, 1)).ToArray(), Math.Max(B, 1));
            var g = d.Temp(DType.Int32, [Math.Max(B, 1)]);
            d.CopyIn(host, g);
            return g;
        }
        finally { System.Buffers.ArrayPool<int>.Shared.Return(lens); }
    }

    /// <summary>Operands the graph wires from the forward op (saved activations, incoming gradients) must have the dims
    /// the forward op gives them; a mismatch (only possible with run-time shapes) is an error, not an out-of-range read.</summary>
    static void Expect(KernelContext c, int input, string what, params int[] dims)
    {
        var a = c.Input(input);
        if (!a.Dims.SequenceEqual(dims)) throw c.Error($"{what} {Shape.Format(a.Dims)} needs {Shape.Format(dims)}");
    }

    static void Copy(CudaDevice d, NDArray from, NDArray to) => d.StridedCopy(from, 0, [1], to, 0, [1], [from.Size]);

    static void Zero<T>(CudaDevice d, NDArray y) where T : unmanaged, INumber<T> => MiscOp.Fill(d, y, T.Zero);

    static void Step(CudaDevice d, Action<AcceleratorStream, KernelConfig> launch, int n)
    {
        if (n > 0) launch(d.Stream, d.Config(n));
    }

    static void FillBias<T>(CudaDevice d, NDArray dst, NDArray bias, int rows, int n, int ld, int col0) where T : unmanaged
    {
        if (rows * n == 0) return;
        var k = d.Load(RnnKernels.FillBias<T>, a => a.LoadKernel<ArrayView<T>, ArrayView<T>, int, int, int, int>(RnnKernels.FillBias<T>));
        k(d.Stream, d.Config(rows * n), CudaDevice.View<T>(dst), CudaDevice.View<T>(bias), rows, n, ld, col0);
    }

    /// <summary>z [B·T, I+H] = [x | the state each step read] (<see cref="RnnKernels.StepInputs{T}"/>), a temporary.</summary>
    static NDArray StepInputs<T>(CudaDevice d, NDArray x, NDArray h0, NDArray y, RnnStep s) where T : unmanaged
    {
        var z = d.Temp(x.DType, [s.B * s.T, s.I + s.H]);
        if (z.Size > 0)
        {
            var k = d.Load(RnnKernels.StepInputs<T>, a => a.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, RnnStep>(RnnKernels.StepInputs<T>));
            k(d.Stream, d.Config(z.Size), CudaDevice.View<T>(x), CudaDevice.View<T>(h0), CudaDevice.View<T>(y), CudaDevice.View<T>(z), s);
        }
        return z;
    }

    // ---------------------------------------------------------------- basic RNN

    static void RnnForward<T>(KernelContext c, CudaDevice d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // inputs: 0 x, 1 seq_len, 2 h0, 3 kernel [I+H, H], 4 bias [H]
        var (B, T_, I, H) = Rnn.Dims(c, 2, 3, 1);
        var lens = Lengths(c, d, B, T_);
        try
        {
            var (x, w, bias) = (c.Input(0), c.Input(3), c.Input(4));
            var y = c.Output(0, [B, T_, H]);
            var h = c.Output(1, [B, H]);
            Copy(d, c.Input(2), h);
            // y = bias + x·W_x for all steps, then per step y[:, t] += h·W_h and the cell.
            FillBias<T>(d, y, bias, B * T_, H, H, 0);
            MatMulOp.Gemm(d, new(x, 0, I), new(w, 0, H), new(y, 0, H), B * T_, H, I, false, false, true);
            var cell = d.Load(RnnKernels.RnnCell<T>, a => a.LoadKernel<ArrayView<T>, ArrayView<int>, ArrayView<T>, RnnStep>(RnnKernels.RnnCell<T>));
            var s = new RnnStep { B = B, T = T_, I = I, H = H };
            for (int t = 0; t < T_; t++)
            {
                s.t = t;
                MatMulOp.Gemm(d, new(h, 0, H), new(w, (long)I * H, H), new(y, (long)t * H, T_ * H), B, H, H, false, false, true);
                Step(d, (st, cfg) => cell(st, cfg, CudaDevice.View<T>(y), CudaDevice.View<int>(lens), CudaDevice.View<T>(h), s), B * H);
            }
        }
        finally { d.FreeTemp(lens); }
    }

    static void RnnBackward<T>(KernelContext c, CudaDevice d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // inputs: 0 x, 1 seq_len, 2 h0, 3 kernel, 4 bias, 5 y, 6 dy, 7 dh_final; outputs dx, dh0, dkernel, dbias
        var (B, T_, I, H) = Rnn.Dims(c, 2, 3, 1);
        Expect(c, 5, "y", B, T_, H); Expect(c, 6, "dy", B, T_, H); Expect(c, 7, "dh_final", B, H);
        var lens = Lengths(c, d, B, T_);
        var da = d.Temp(c.Input(0).DType, [B, T_, H]);
        NDArray? z = null;
        try
        {
            var (x, w, y, dy) = (c.Input(0), c.Input(3), c.Input(5), c.Input(6));
            var dx = c.Output(0, [B, T_, I]);
            var dh = c.Output(1, [B, H]);
            var dw = c.Output(2, [I + H, H]);
            var db = c.Output(3, [H]);
            Copy(d, c.Input(7), dh);
            var grad = d.Load(RnnKernels.RnnCellGrad<T>, a => a.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<int>, RnnStep>(RnnKernels.RnnCellGrad<T>));
            var s = new RnnStep { B = B, T = T_, I = I, H = H };
            for (int t = T_ - 1; t >= 0; t--)
            {
                s.t = t;
                Step(d, (st, cfg) => grad(st, cfg, CudaDevice.View<T>(y), CudaDevice.View<T>(dy), CudaDevice.View<T>(dh), CudaDevice.View<T>(da),
                    CudaDevice.View<int>(lens), s), B * H);
                MatMulOp.Gemm(d, new(da, (long)t * H, T_ * H), new(w, (long)I * H, H), new(dh, 0, H), B, H, H, false, true, true);
            }
            z = StepInputs<T>(d, x, c.Input(2), y, s);
            MatMulOp.Gemm(d, new(z, 0, I + H), new(da, 0, H), new(dw, 0, H), I + H, H, B * T_, true, false, false);
            MatMulOp.Gemm(d, new(da, 0, H), new(w, 0, H), new(dx, 0, I), B * T_, I, H, false, true, false);
            ReduceOp.ColumnSums(d, da, db, B * T_, H, H, 0);
        }
        finally
        {
            d.FreeTemp(lens); d.FreeTemp(da);
            if (z != null) d.FreeTemp(z);
        }
    }

    // ---------------------------------------------------------------- GRU

    static void GruForward<T>(KernelContext c, CudaDevice d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // inputs: 0 x, 1 seq_len, 2 h0, 3 wg [I+H, 2H], 4 bg [2H], 5 wc [I+H, H], 6 bc [H]; outputs y, h_final, act [B,T,3H]
        var (B, T_, I, H) = Rnn.Dims(c, 2, 3, 2);
        Rnn.CheckCandidate(c, I, H);
        var lens = Lengths(c, d, B, T_);
        var rh = d.Temp(c.Input(0).DType, [Math.Max(B * H, 1)]);
        try
        {
            var (x, wg, bg, wc, bc) = (c.Input(0), c.Input(3), c.Input(4), c.Input(5), c.Input(6));
            var y = c.Output(0, [B, T_, H]);
            var h = c.Output(1, [B, H]);
            var act = c.Output(2, [B, T_, 3 * H]);
            Copy(d, c.Input(2), h);
            int G = 3 * H, ld = T_ * G;
            FillBias<T>(d, act, bg, B * T_, 2 * H, G, 0);
            FillBias<T>(d, act, bc, B * T_, H, G, 2 * H);
            MatMulOp.Gemm(d, new(x, 0, I), new(wg, 0, 2 * H), new(act, 0, G), B * T_, 2 * H, I, false, false, true);
            MatMulOp.Gemm(d, new(x, 0, I), new(wc, 0, H), new(act, 2 * H, G), B * T_, H, I, false, false, true);
            var gates = d.Load(RnnKernels.GruGates<T>, a => a.LoadKernel<ArrayView<T>, ArrayView<int>, ArrayView<T>, ArrayView<T>, RnnStep>(RnnKernels.GruGates<T>));
            var cell = d.Load(RnnKernels.GruCell<T>, a => a.LoadKernel<ArrayView<T>, ArrayView<int>, ArrayView<T>, ArrayView<T>, RnnStep>(RnnKernels.GruCell<T>));
            var s = new RnnStep { B = B, T = T_, I = I, H = H };
            for (int t = 0; t < T_; t++)
            {
                s.t = t;
                MatMulOp.Gemm(d, new(h, 0, H), new(wg, (long)I * 2 * H, 2 * H), new(act, (long)t * G, ld), B, 2 * H, H, false, false, true);
                Step(d, (st, cfg) => gates(st, cfg, CudaDevice.View<T>(act), CudaDevice.View<int>(lens), CudaDevice.View<T>(h), CudaDevice.View<T>(rh), s), B * H);
                MatMulOp.Gemm(d, new(rh, 0, H), new(wc, (long)I * H, H), new(act, (long)t * G + 2 * H, ld), B, H, H, false, false, true);
                Step(d, (st, cfg) => cell(st, cfg, CudaDevice.View<T>(act), CudaDevice.View<int>(lens), CudaDevice.View<T>(h), CudaDevice.View<T>(y), s), B * H);
            }
        }
        finally { d.FreeTemp(lens); d.FreeTemp(rh); }
    }

    static void GruBackward<T>(KernelContext c, CudaDevice d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // inputs: 0 x, 1 seq_len, 2 h0, 3 wg, 4 bg, 5 wc, 6 bc, 7 y, 8 act, 9 dy, 10 dh_final; outputs dx, dh0, dwg, dbg, dwc, dbc
        var (B, T_, I, H) = Rnn.Dims(c, 2, 3, 2);
        Rnn.CheckCandidate(c, I, H);
        int G = 3 * H, ld = T_ * G;
        Expect(c, 7, "y", B, T_, H); Expect(c, 8, "act", B, T_, G); Expect(c, 9, "dy", B, T_, H); Expect(c, 10, "dh_final", B, H);
        var lens = Lengths(c, d, B, T_);
        var dt = c.Input(0).DType;
        var da = d.Temp(dt, [B, T_, G]);
        var drh = d.Temp(dt, [Math.Max(B * H, 1)]);
        NDArray? zg = null, zc = null;
        try
        {
            var (x, h0, wg, wc, y, act, dy) = (c.Input(0), c.Input(2), c.Input(3), c.Input(5), c.Input(7), c.Input(8), c.Input(9));
            var dx = c.Output(0, [B, T_, I]);
            var dh = c.Output(1, [B, H]);
            var dwg = c.Output(2, [I + H, 2 * H]);
            var dbg = c.Output(3, [2 * H]);
            var dwc = c.Output(4, [I + H, H]);
            var dbc = c.Output(5, [H]);
            Copy(d, c.Input(10), dh);
            var s = new RnnStep { B = B, T = T_, I = I, H = H };
            // [x | h_prev] for the gate kernel's gradient; [x | r·h_prev] for the candidate's (its hidden part written per step).
            zg = StepInputs<T>(d, x, h0, y, s);
            zc = StepInputs<T>(d, x, h0, y, s);
            var gradA = d.Load(RnnKernels.GruGradA<T>, a => a.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>,
                ArrayView<T>, ArrayView<int>, RnnStep>(RnnKernels.GruGradA<T>));
            var gradB = d.Load(RnnKernels.GruGradB<T>, a => a.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>,
                ArrayView<int>, RnnStep>(RnnKernels.GruGradB<T>));
            for (int t = T_ - 1; t >= 0; t--)
            {
                s.t = t;
                Step(d, (st, cfg) => gradA(st, cfg, CudaDevice.View<T>(act), CudaDevice.View<T>(h0), CudaDevice.View<T>(y), CudaDevice.View<T>(dy),
                    CudaDevice.View<T>(dh), CudaDevice.View<T>(da), CudaDevice.View<T>(zc), CudaDevice.View<int>(lens), s), B * H);
                MatMulOp.Gemm(d, new(da, (long)t * G + 2 * H, ld), new(wc, (long)I * H, H), new(drh, 0, H), B, H, H, false, true, false);
                Step(d, (st, cfg) => gradB(st, cfg, CudaDevice.View<T>(act), CudaDevice.View<T>(h0), CudaDevice.View<T>(y), CudaDevice.View<T>(drh),
                    CudaDevice.View<T>(dh), CudaDevice.View<T>(da), CudaDevice.View<int>(lens), s), B * H);
                MatMulOp.Gemm(d, new(da, (long)t * G, ld), new(wg, (long)I * 2 * H, 2 * H), new(dh, 0, H), B, H, 2 * H, false, true, true);
            }
            MatMulOp.Gemm(d, new(da, 0, G), new(wg, 0, 2 * H), new(dx, 0, I), B * T_, I, 2 * H, false, true, false);
            MatMulOp.Gemm(d, new(da, 2 * H, G), new(wc, 0, H), new(dx, 0, I), B * T_, I, H, false, true, true);
            MatMulOp.Gemm(d, new(zg, 0, I + H), new(da, 0, G), new(dwg, 0, 2 * H), I + H, 2 * H, B * T_, true, false, false);
            MatMulOp.Gemm(d, new(zc, 0, I + H), new(da, 2 * H, G), new(dwc, 0, H), I + H, H, B * T_, true, false, false);
            ReduceOp.ColumnSums(d, da, dbg, B * T_, 2 * H, G, 0);
            ReduceOp.ColumnSums(d, da, dbc, B * T_, H, G, 2 * H);
        }
        finally
        {
            d.FreeTemp(lens); d.FreeTemp(da); d.FreeTemp(drh);
            if (zg != null) d.FreeTemp(zg);
            if (zc != null) d.FreeTemp(zc);
        }
    }

    // ---------------------------------------------------------------- LSTM

    static void LstmForward<T>(KernelContext c, CudaDevice d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // inputs: 0 x, 1 seq_len, 2 h0, 3 c0, 4 kernel [I+H, 4H], 5 bias [4H]; outputs y, h_final, c_final, act [B,T,4H], cs [B,T,H]
        var (B, T_, I, H) = Rnn.Dims(c, 2, 4, 4);
        Rnn.CheckC0(c);
        T fb = T.CreateChecked(c.Attrs.Float("forget_bias", 1.0));
        double clipD = c.Attrs.Float("cell_clip", 0);
        var lens = Lengths(c, d, B, T_);
        try
        {
            var (x, w, bias) = (c.Input(0), c.Input(4), c.Input(5));
            int G = 4 * H, ld = T_ * G;
            var y = c.Output(0, [B, T_, H]);
            var h = c.Output(1, [B, H]);
            var cT = c.Output(2, [B, H]);
            var act = c.Output(3, [B, T_, G]);
            var cs = c.Output(4, [B, T_, H]);
            Copy(d, c.Input(2), h);
            Copy(d, c.Input(3), cT);
            // Input projections of all steps in one product; the bias joins in the step kernel, as on the CPU.
            MatMulOp.Gemm(d, new(x, 0, I), new(w, 0, G), new(act, 0, G), B * T_, G, I, false, false, false);
            var cell = d.Load(RnnKernels.LstmCell<T>, a => a.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<int>, ArrayView<T>, ArrayView<T>, ArrayView<T>,
                ArrayView<T>, RnnStep, T, T, int>(RnnKernels.LstmCell<T>));
            var s = new RnnStep { B = B, T = T_, I = I, H = H };
            T cl = T.CreateChecked(clipD);
            int clip = clipD > 0 ? 1 : 0;
            for (int t = 0; t < T_; t++)
            {
                s.t = t;
                MatMulOp.Gemm(d, new(h, 0, H), new(w, (long)I * G, G), new(act, (long)t * G, ld), B, G, H, false, false, true);
                Step(d, (st, cfg) => cell(st, cfg, CudaDevice.View<T>(act), CudaDevice.View<T>(bias), CudaDevice.View<int>(lens), CudaDevice.View<T>(cT),
                    CudaDevice.View<T>(h), CudaDevice.View<T>(y), CudaDevice.View<T>(cs), s, fb, cl, clip), B * H);
            }
        }
        finally { d.FreeTemp(lens); }
    }

    static void LstmBackward<T>(KernelContext c, CudaDevice d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // inputs: 0 x, 1 seq_len, 2 h0, 3 c0, 4 kernel, 5 bias, 6 y, 7 act, 8 cs, 9 dy, 10 dh_final, 11 dc_final;
        // outputs dx, dh0, dc0, dkernel, dbias
        var (B, T_, I, H) = Rnn.Dims(c, 2, 4, 4);
        Rnn.CheckC0(c);
        int G = 4 * H, ld = T_ * G;
        Expect(c, 6, "y", B, T_, H); Expect(c, 7, "act", B, T_, G); Expect(c, 8, "cs", B, T_, H); Expect(c, 9, "dy", B, T_, H);
        Expect(c, 10, "dh_final", B, H); Expect(c, 11, "dc_final", B, H);
        double clipD = c.Attrs.Float("cell_clip", 0);
        var lens = Lengths(c, d, B, T_);
        var da = d.Temp(c.Input(0).DType, [B, T_, G]);
        NDArray? z = null;
        try
        {
            var (x, h0, c0, w, y, act, cs, dy) = (c.Input(0), c.Input(2), c.Input(3), c.Input(4), c.Input(6), c.Input(7), c.Input(8), c.Input(9));
            var dx = c.Output(0, [B, T_, I]);
            var dh = c.Output(1, [B, H]);
            var dc = c.Output(2, [B, H]);
            var dw = c.Output(3, [I + H, G]);
            var db = c.Output(4, [G]);
            Copy(d, c.Input(10), dh);
            Copy(d, c.Input(11), dc);
            var grad = d.Load(RnnKernels.LstmCellGrad<T>, a => a.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>,
                ArrayView<T>, ArrayView<int>, RnnStep, T, int>(RnnKernels.LstmCellGrad<T>));
            var s = new RnnStep { B = B, T = T_, I = I, H = H };
            T cl = T.CreateChecked(clipD);
            int clip = clipD > 0 ? 1 : 0;
            for (int t = T_ - 1; t >= 0; t--)
            {
                s.t = t;
                // dh += (step t+1's gate gradients)·W_hᵀ, then the gate gradients of step t.
                if (t < T_ - 1)
                    MatMulOp.Gemm(d, new(da, (long)(t + 1) * G, ld), new(w, (long)I * G, G), new(dh, 0, H), B, H, G, false, true, true);
                Step(d, (st, cfg) => grad(st, cfg, CudaDevice.View<T>(act), CudaDevice.View<T>(cs), CudaDevice.View<T>(c0), CudaDevice.View<T>(dy),
                    CudaDevice.View<T>(dh), CudaDevice.View<T>(dc), CudaDevice.View<T>(da), CudaDevice.View<int>(lens), s, cl, clip), B * H);
            }
            if (T_ > 0) MatMulOp.Gemm(d, new(da, 0, ld), new(w, (long)I * G, G), new(dh, 0, H), B, H, G, false, true, true);
            z = StepInputs<T>(d, x, h0, y, s);
            MatMulOp.Gemm(d, new(z, 0, I + H), new(da, 0, G), new(dw, 0, G), I + H, G, B * T_, true, false, false);
            MatMulOp.Gemm(d, new(da, 0, G), new(w, 0, G), new(dx, 0, I), B * T_, I, G, false, true, false);
            ReduceOp.ColumnSums(d, da, db, B * T_, G, G, 0);
        }
        finally
        {
            d.FreeTemp(lens); d.FreeTemp(da);
            if (z != null) d.FreeTemp(z);
        }
    }

    public static IEnumerable<MethodInfo> Kernels()
    {
        foreach (var m in new Delegate[]
        {
            RnnKernels.FillBias<float>, RnnKernels.FillBias<double>,
            RnnKernels.StepInputs<float>, RnnKernels.StepInputs<double>,
            RnnKernels.RnnCell<float>, RnnKernels.RnnCell<double>, RnnKernels.RnnCellGrad<float>, RnnKernels.RnnCellGrad<double>,
            RnnKernels.GruGates<float>, RnnKernels.GruGates<double>, RnnKernels.GruCell<float>, RnnKernels.GruCell<double>,
            RnnKernels.GruGradA<float>, RnnKernels.GruGradA<double>, RnnKernels.GruGradB<float>, RnnKernels.GruGradB<double>,
            RnnKernels.LstmCell<float>, RnnKernels.LstmCell<double>, RnnKernels.LstmCellGrad<float>, RnnKernels.LstmCellGrad<double>,
        })
            yield return m.Method;
    }
}
