using System.Numerics;
using System.Reflection;
using GraphDl.Ops;
using GraphDl.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace GraphDl.Cuda.Kernels;

/// <summary>Sizes of a fused recurrent layer and the time step a step kernel works on: x [B, T, I], states [B, H],
/// gates G = gates·H per row.</summary>
public struct RnnStep
{
    /// <summary>Batch, steps, input features, units, the step.</summary>
    public int B, T, I, H, t;
}

/// <summary>The element-wise kernels of the fused RNN, GRU and LSTM layers, one thread per (example, unit) of a time
/// step (grid-stride). The products (input projections of all steps, the recurrent product of each step, the weight
/// gradients of all steps) are GEMMs on the host side (<see cref="MatMulOp.Gemm(CudaDevice, Mat, Mat, Mat, int, int, int, bool, bool, bool)"/>).
/// The formulas and the order of the additions are the CPU kernels' (<c>RnnSequenceKernels.cs</c>, <c>RnnLstmKernels.cs</c>);
/// σ(x) = 1/(1+e⁻ˣ) and tanh are the device's own (the CPU uses a Cephes-style float32 exponential), so float32
/// results agree with the CPU within a tolerance, not bit for bit. Past an example's length the outputs are zero and
/// the state is carried, as on the CPU.</summary>
public static class RnnKernels
{
    static T Sigmoid<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-x));

    /// <summary><c>dst[r, col0 + j] = bias[j]</c> for rows r &lt; rows, j &lt; n (row length ld).</summary>
    public static void FillBias<T>(ArrayView<T> dst, ArrayView<T> bias, int rows, int n, int ld, int col0) where T : unmanaged
    {
        int total = rows * n;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
            dst[e / n * ld + col0 + e % n] = bias[e % n];
    }

    /// <summary>Row (b, t) of z [B·T, I+H] = [x(b, t) | the state step t read]: h0[b] for t = 0, else y[b, t-1] (the
    /// left operand of the weight gradient, all steps in one GEMM).</summary>
    public static void StepInputs<T>(ArrayView<T> x, ArrayView<T> h0, ArrayView<T> y, ArrayView<T> z, RnnStep s) where T : unmanaged
    {
        int w = s.I + s.H, total = s.B * s.T * w;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int j = e % w, bt = e / w, t = bt % s.T, b = bt / s.T;
            z[e] = j < s.I ? x[bt * s.I + j] : t == 0 ? h0[b * s.H + j - s.I] : y[(bt - 1) * s.H + j - s.I];
        }
    }

    // ---------------------------------------------------------------- basic RNN

    /// <summary>Step t of the tanh RNN: y[b, t] holds bias + x·W_x + h·W_h; y = h = tanh of it, or y = 0 past the length.</summary>
    public static void RnnCell<T>(ArrayView<T> y, ArrayView<int> lens, ArrayView<T> h, RnnStep s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int total = s.B * s.H;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int b = e / s.H, k = e % s.H, at = (b * s.T + s.t) * s.H + k;
            if (s.t < lens[b])
            {
                T v = DeviceMath.Tanh(y[at]);
                y[at] = v;
                h[e] = v;
            }
            else y[at] = T.Zero;
        }
    }

    /// <summary>Backward step t of the tanh RNN: da = (dh + dy)·(1 - y²), dh = 0 (the GEMM then adds da·W_hᵀ); da = 0
    /// past the length (dh carried).</summary>
    public static void RnnCellGrad<T>(ArrayView<T> y, ArrayView<T> dy, ArrayView<T> dh, ArrayView<T> da, ArrayView<int> lens, RnnStep s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int total = s.B * s.H;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int b = e / s.H, k = e % s.H, at = (b * s.T + s.t) * s.H + k;
            if (s.t < lens[b])
            {
                T dht = dh[e] + dy[at], yv = y[at];
                da[at] = dht * (T.One - yv * yv);
                dh[e] = T.Zero;
            }
            else da[at] = T.Zero;
        }
    }

    // ---------------------------------------------------------------- GRU (act rows [r | u | c], G = 3H)

    /// <summary>GRU step t, first half: r, u = σ(act) (act holds bias + x·W_x + h·W_h), rh = r·h; rh = 0 past the length.</summary>
    public static void GruGates<T>(ArrayView<T> act, ArrayView<int> lens, ArrayView<T> h, ArrayView<T> rh, RnnStep s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int total = s.B * s.H, g = 3 * s.H;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int b = e / s.H, k = e % s.H, row = (b * s.T + s.t) * g;
            if (s.t < lens[b])
            {
                T r = Sigmoid(act[row + k]);
                act[row + k] = r;
                act[row + s.H + k] = Sigmoid(act[row + s.H + k]);
                rh[e] = r * h[e];
            }
            else rh[e] = T.Zero;
        }
    }

    /// <summary>GRU step t, second half: c = tanh(act_c) (bias + x·W_cx + rh·W_ch), h = y = u·h + (1-u)·c; past the
    /// length the act row and y are zero and h is carried.</summary>
    public static void GruCell<T>(ArrayView<T> act, ArrayView<int> lens, ArrayView<T> h, ArrayView<T> y, RnnStep s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int total = s.B * s.H, g = 3 * s.H;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int b = e / s.H, k = e % s.H, row = (b * s.T + s.t) * g, at = (b * s.T + s.t) * s.H + k;
            if (s.t < lens[b])
            {
                T cc = DeviceMath.Tanh(act[row + 2 * s.H + k]), u = act[row + s.H + k];
                act[row + 2 * s.H + k] = cc;
                T hv = u * h[e] + (T.One - u) * cc;
                h[e] = hv;
                y[at] = hv;
            }
            else
            {
                act[row + k] = T.Zero;
                act[row + s.H + k] = T.Zero;
                act[row + 2 * s.H + k] = T.Zero;
                y[at] = T.Zero;
            }
        }
    }

    /// <summary>GRU backward step t, first half: dht = dh + dy; da_u, da_c; dh = dht; the candidate's left operand
    /// zc[b, t, I + k] = r·h_prev (0 past the length, where the whole da row is 0).</summary>
    public static void GruGradA<T>(ArrayView<T> act, ArrayView<T> h0, ArrayView<T> y, ArrayView<T> dy, ArrayView<T> dh, ArrayView<T> da,
        ArrayView<T> zc, ArrayView<int> lens, RnnStep s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int total = s.B * s.H, g = 3 * s.H, w = s.I + s.H;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int b = e / s.H, k = e % s.H, bt = b * s.T + s.t, row = bt * g;
            if (s.t < lens[b])
            {
                T r = act[row + k], u = act[row + s.H + k], cc = act[row + 2 * s.H + k];
                T hp = s.t == 0 ? h0[e] : y[(bt - 1) * s.H + k];
                T dht = dh[e] + dy[bt * s.H + k];
                da[row + s.H + k] = dht * (hp - cc) * u * (T.One - u);
                da[row + 2 * s.H + k] = dht * (T.One - u) * (T.One - cc * cc);
                dh[e] = dht;
                zc[bt * w + s.I + k] = r * hp;
            }
            else
            {
                da[row + k] = T.Zero;
                da[row + s.H + k] = T.Zero;
                da[row + 2 * s.H + k] = T.Zero;
                zc[bt * w + s.I + k] = T.Zero;
            }
        }
    }

    /// <summary>GRU backward step t, second half (drh = da_c·W_chᵀ): da_r = drh·h_prev·r·(1-r), dh = dh·u + drh·r.</summary>
    public static void GruGradB<T>(ArrayView<T> act, ArrayView<T> h0, ArrayView<T> y, ArrayView<T> drh, ArrayView<T> dh, ArrayView<T> da,
        ArrayView<int> lens, RnnStep s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int total = s.B * s.H, g = 3 * s.H;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int b = e / s.H, k = e % s.H, bt = b * s.T + s.t, row = bt * g;
            if (s.t >= lens[b]) continue;
            T r = act[row + k], u = act[row + s.H + k];
            T hp = s.t == 0 ? h0[e] : y[(bt - 1) * s.H + k];
            da[row + k] = drh[e] * hp * r * (T.One - r);
            dh[e] = dh[e] * u + drh[e] * r;
        }
    }

    // ---------------------------------------------------------------- LSTM (act rows [i | j | f | o], G = 4H)

    /// <summary>LSTM step t: act holds x·W_x + h·W_h; adds the bias (and the forget bias), stores the activated gates,
    /// c = f·c + i·j (clipped to ±cl when clip is 1), h = y = o·tanh(c), cs = c. Past the length: act row and y zero, cs =
    /// the carried c, h carried.</summary>
    public static void LstmCell<T>(ArrayView<T> act, ArrayView<T> bias, ArrayView<int> lens, ArrayView<T> c, ArrayView<T> h, ArrayView<T> y,
        ArrayView<T> cs, RnnStep s, T fb, T cl, int clip) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int total = s.B * s.H, g = 4 * s.H, H = s.H;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int b = e / H, k = e % H, row = (b * s.T + s.t) * g, at = (b * s.T + s.t) * H + k;
            if (s.t < lens[b])
            {
                T i = Sigmoid(act[row + k] + bias[k]);
                T j = DeviceMath.Tanh(act[row + H + k] + bias[H + k]);
                T f = Sigmoid(act[row + 2 * H + k] + bias[2 * H + k] + fb);
                T o = Sigmoid(act[row + 3 * H + k] + bias[3 * H + k]);
                act[row + k] = i; act[row + H + k] = j; act[row + 2 * H + k] = f; act[row + 3 * H + k] = o;
                T cc = f * c[e] + i * j;
                if (clip != 0) cc = cc < -cl ? -cl : cc > cl ? cl : cc;
                c[e] = cc;
                cs[at] = cc;
                T hv = o * DeviceMath.Tanh(cc);
                h[e] = hv;
                y[at] = hv;
            }
            else
            {
                act[row + k] = T.Zero; act[row + H + k] = T.Zero; act[row + 2 * H + k] = T.Zero; act[row + 3 * H + k] = T.Zero;
                y[at] = T.Zero;
                cs[at] = c[e];
            }
        }
    }

    /// <summary>LSTM backward step t (dh already holds step t+1's da·W_hᵀ): dht = dh + dy, dct = dc + dht·o·(1 - tanh²c)
    /// (0 where |c| ≥ cl when clipping), the four gate gradients, dc = dct·f, dh = 0. Past the length: da row zero,
    /// dh and dc carried.</summary>
    public static void LstmCellGrad<T>(ArrayView<T> act, ArrayView<T> cs, ArrayView<T> c0, ArrayView<T> dy, ArrayView<T> dh, ArrayView<T> dc,
        ArrayView<T> da, ArrayView<int> lens, RnnStep s, T cl, int clip) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int total = s.B * s.H, g = 4 * s.H, H = s.H;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int b = e / H, k = e % H, bt = b * s.T + s.t, row = bt * g, at = bt * H + k;
            if (s.t >= lens[b])
            {
                da[row + k] = T.Zero; da[row + H + k] = T.Zero; da[row + 2 * H + k] = T.Zero; da[row + 3 * H + k] = T.Zero;
                continue;
            }
            T i = act[row + k], j = act[row + H + k], f = act[row + 2 * H + k], o = act[row + 3 * H + k];
            T cv = cs[at], th = DeviceMath.Tanh(cv);
            T cp = s.t == 0 ? c0[e] : cs[at - H];
            T dht = dh[e] + dy[at];
            T dct = dc[e] + dht * o * (T.One - th * th);
            if (clip != 0 && (cv < T.Zero ? -cv : cv) >= cl) dct = T.Zero;
            da[row + k] = dct * j * i * (T.One - i);
            da[row + H + k] = dct * i * (T.One - j * j);
            da[row + 2 * H + k] = dct * cp * f * (T.One - f);
            da[row + 3 * H + k] = dht * th * o * (T.One - o);
            dc[e] = dct * f;
            dh[e] = T.Zero;
        }
    }
}
