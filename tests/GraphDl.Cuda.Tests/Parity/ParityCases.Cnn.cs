using GraphDl.Ops;

namespace GraphDl.Cuda.Parity;

/// <summary>The CNN op family's parity cases: NHWC, batch 0-3, odd heights and widths, 1, 3 and 5 channels, SAME and
/// VALID, strides 1 and 2 (dilation 2 for conv). Tolerances: BiasAdd, BiasAddGrad and every pooling op are bit-exact
/// (<see cref="Family.Data"/>: the GPU kernels add in the CPU kernels' order, and max-pool gradient ties go to the first
/// maximal position as on the CPU); LRN and LRNGrad use pow (<see cref="Family.Transcendental"/>, rtol 1e-5,
/// atol 1e-6); the convolutions sum in another order (<see cref="Family.Conv"/>, rtol 1e-5, atol 1e-5).</summary>
public static partial class ParityCases
{
    static IEnumerable<ParityCase> Cnn()
    {
        // ---- BiasAdd / BiasAddGrad: 1, 3, 5 channels (the CPU sums in ceil(64 / c) strided lanes below 16 channels, in
        // one running sum from 16 up: both kinds, and fewer rows than lanes).
        foreach (var dims in new[] { new[] { 2, 5, 3, 3 }, [3, 3, 5, 1], [1, 7, 5, 5], [7, 17], [0, 3, 3, 5] })
        {
            string shape = Shape.Format(dims) + (dims[0] == 0 ? " empty batch" : "");
            yield return C($"BiasAdd {shape}", BiasOps.BiasAdd, Family.Data, (g, t) => g.BiasAdd(t[0], t[1]), Rand(dims), Rand(dims[^1]));
            yield return C($"BiasAddGrad {shape}", BiasOps.BiasAddGrad, Family.Data, (g, t) => g.BiasAddGrad(t[0]), Rand(dims));
        }
        yield return C("BiasAddGrad [3,5,7,1] (more rows than lanes)", BiasOps.BiasAddGrad, Family.Data, (g, t) => g.BiasAddGrad(t[0]), Rand(3, 5, 7, 1));
    }
}
