using System.Text;
using Google.Protobuf;
using GraphDl.Ops;
using GraphDl.Summaries;
using GraphDl.Summaries.Proto;
using ProtoSummary = GraphDl.Summaries.Proto.Summary;

namespace GraphDl.Ops
{
    /// <summary>Summary ops (TF 1.15's <c>ScalarSummary</c>, <c>HistogramSummary</c>, <c>ImageSummary</c>, <c>TensorSummaryV2</c>,
    /// <c>MergeSummary</c>). Each outputs a DT_STRING scalar holding a serialized <c>Summary</c> protobuf.</summary>
    /// <remarks>
    /// Byte convention: GraphDl strings are .NET strings, so the serialized bytes are carried as a string with one char per
    /// byte (<see cref="SummaryBytes.ToString(byte[])"/>, Latin-1); <see cref="SummaryBytes.ToBytes(string)"/> and
    /// <c>FileWriter.AddSummary</c> turn it back into the exact bytes. These kernels allocate (protobuf messages, PNGs):
    /// summaries run once per logging step, not in the inner loop.
    /// </remarks>
    public static class SummaryOps
    {
        static OutputSpec[] StringScalar(InferContext c, int tagInput)
        {
            if (c.DType(tagInput) != DType.String) throw new ShapeError($"tag must be a string, got {c.DType(tagInput).Name()}");
            return InferContext.One(DType.String, Shape.Scalar);
        }

        /// <summary>Legacy scalar summary: one <c>simple_value</c> per element of <c>values</c>, tagged by the same element of <c>tags</c>.</summary>
        public static readonly OpDef ScalarSummary = new()
        {
            Name = "ScalarSummary", Grad = null,
            Infer = c =>
            {
                if (c.DType(0) != DType.String) throw new ShapeError($"tags must be strings, got {c.DType(0).Name()}");
                if (!c.DType(1).IsNumeric()) throw new ShapeError($"values must be numeric, got {c.DType(1).Name()}");
                if (!c.Shape(0).IsCompatibleWith(c.Shape(1)))
                    throw new ShapeError($"tags and values are not the same shape: {c.Shape(0)} != {c.Shape(1)}");
                return InferContext.One(DType.String, Shape.Scalar);
            },
            Cpu = c =>
            {
                var tags = c.Input(0);
                var values = c.Input(1);
                if (!tags.Dims.SequenceEqual(values.Dims))
                    throw c.Error($"tags and values are not the same shape: {tags.Shape} != {values.Shape}");
                var s = new ProtoSummary();
                var names = tags.AsSpan<string>();
                double[] xs = values.ToDoubleArray();
                for (int i = 0; i < xs.Length; i++)
                    s.Value.Add(new ProtoSummary.Types.Value { Tag = names[i], SimpleValue = (float)xs[i] });
                Emit(c, s);
            },
        };

        /// <summary>Legacy histogram summary of every element of <c>values</c> with TensorFlow's default buckets.</summary>
        public static readonly OpDef HistogramSummary = new()
        {
            Name = "HistogramSummary", Grad = null,
            Infer = c =>
            {
                if (!c.DType(1).IsNumeric()) throw new ShapeError($"values must be numeric, got {c.DType(1).Name()}");
                return StringScalar(c, 0);
            },
            Cpu = c =>
            {
                string tag = c.Input(0).AsSpan<string>()[0];
                double[] xs = c.Input(1).ToDoubleArray();
                foreach (double x in xs)
                    if (!double.IsFinite(x)) throw c.Error($"Nan in summary histogram for: {tag}");
                var s = new ProtoSummary();
                s.Value.Add(new ProtoSummary.Types.Value { Tag = tag, Histo = Histograms.Build(xs) });
                Emit(c, s);
            },
        };

        /// <summary>Legacy image summary of up to <c>max_images</c> images of a <c>[batch, h, w, c]</c> tensor (c = 1, 3 or 4),
        /// PNG-encoded; tags <c>tag/image/i</c>, or <c>tag/image</c> when <c>max_images</c> is 1.</summary>
        public static readonly OpDef ImageSummary = new()
        {
            Name = "ImageSummary", Grad = null,
            Infer = c =>
            {
                var s = c.Shape(1);
                if (s.HasRank && s.Rank != 4) throw new ShapeError($"images must be 4-D [batch, height, width, channels], got {s}");
                if (s.HasRank && s[3] >= 0 && s[3] is not (1 or 3 or 4)) throw new ShapeError($"images must have 1, 3 or 4 channels, got {s}");
                if (c.DType(1) is not (DType.UInt8 or DType.Float32 or DType.Float64))
                    throw new ShapeError($"images must be uint8, float32 or float64, got {c.DType(1).Name()}");
                if (c.Attrs.Int("max_images", 3) < 1) throw new ShapeError("max_images must be at least 1");
                return StringScalar(c, 0);
            },
            Cpu = c =>
            {
                string tag = c.Input(0).AsSpan<string>()[0];
                var images = c.Input(1);
                int maxImages = c.Attrs.Int("max_images", 3);
                var d = images.Dims;
                if (d.Length != 4 || d[3] is not (1 or 3 or 4) || d[1] <= 0 || d[2] <= 0)
                    throw c.Error($"images must be [batch, height, width, 1|3|4] with positive sizes, got {images.Shape}");
                int n = Math.Min(d[0], maxImages), h = d[1], w = d[2], ch = d[3], per = h * w * ch;
                var s = new ProtoSummary();
                var pixels = new byte[per];
                double[]? floats = images.DType == DType.UInt8 ? null : images.ToDoubleArray();
                for (int i = 0; i < n; i++)
                {
                    if (floats is null) images.AsSpan<byte>().Slice(i * per, per).CopyTo(pixels);
                    else ImageEncoding.NormalizeFloatImage(floats.AsSpan(i * per, per), ch, pixels);
                    s.Value.Add(new ProtoSummary.Types.Value
                    {
                        Tag = maxImages > 1 ? $"{tag}/image/{i}" : $"{tag}/image",
                        Image = new ProtoSummary.Types.Image
                        {
                            Height = h, Width = w, Colorspace = ch,
                            EncodedImageString = ByteString.CopyFrom(Png.Encode(pixels, h, w, ch)),
                        },
                    });
                }
                Emit(c, s);
            },
        };

        /// <summary>Tensor summary (<c>tf.summary.text</c> uses it): the tensor as a <c>TensorProto</c> with the given serialized
        /// <c>SummaryMetadata</c> (inputs: tag, tensor, serialized_summary_metadata).</summary>
        public static readonly OpDef TensorSummaryV2 = new()
        {
            Name = "TensorSummaryV2", Grad = null,
            Infer = c =>
            {
                if (c.DType(2) != DType.String) throw new ShapeError("serialized_summary_metadata must be a string");
                return StringScalar(c, 0);
            },
            Cpu = c =>
            {
                string tag = c.Input(0).AsSpan<string>()[0];
                var meta = SummaryMetadata.Parser.ParseFrom(SummaryBytes.ToBytes(c.Input(2).AsSpan<string>()[0]));
                var s = new ProtoSummary();
                s.Value.Add(new ProtoSummary.Types.Value { Tag = tag, Metadata = meta, Tensor = c.Input(1).ToProto() });
                Emit(c, s);
            },
        };

        /// <summary>Concatenates the values of serialized summaries; a tag appearing twice is an error (as in TensorFlow).</summary>
        public static readonly OpDef MergeSummary = new()
        {
            Name = "MergeSummary", Grad = null,
            Infer = c =>
            {
                if (c.Inputs.Length == 0) throw new ShapeError("MergeSummary needs at least one input");
                for (int i = 0; i < c.Inputs.Length; i++)
                    if (c.DType(i) != DType.String) throw new ShapeError($"input {i} is {c.DType(i).Name()}, not a serialized summary string");
                return InferContext.One(DType.String, Shape.Scalar);
            },
            Cpu = c =>
            {
                var merged = new ProtoSummary();
                var tags = new HashSet<string>(StringComparer.Ordinal);
                for (int i = 0; i < c.InputCount; i++)
                {
                    foreach (string str in c.Input(i).AsSpan<string>())
                    {
                        var part = ProtoSummary.Parser.ParseFrom(SummaryBytes.ToBytes(str));
                        foreach (var v in part.Value)
                        {
                            if (v.Tag.Length > 0 && !tags.Add(v.Tag)) throw c.Error($"Duplicate tag {v.Tag} found in summary inputs");
                            merged.Value.Add(v);
                        }
                    }
                }
                Emit(c, merged);
            },
        };

        static void Emit(Runtime.KernelContext c, ProtoSummary s) =>
            c.Output(0, []).AsSpan<string>()[0] = SummaryBytes.ToString(s.ToByteArray());
    }
}

namespace GraphDl.Summaries
{
    /// <summary>The byte-in-string convention of summary ops: one char (0..255) per byte, i.e. Latin-1.</summary>
    public static class SummaryBytes
    {
        /// <summary>Bytes → the string a summary op outputs.</summary>
        public static string ToString(byte[] bytes) => Encoding.Latin1.GetString(bytes);

        /// <summary>A summary op's string output → the serialized bytes; throws if a char is above 255 (not produced by a summary op).</summary>
        public static byte[] ToBytes(string s)
        {
            ArgumentNullException.ThrowIfNull(s);
            foreach (char ch in s)
                if (ch > 0xFF) throw new ArgumentException("not a serialized summary: a char above U+00FF (summary op strings hold one byte per char)");
            return Encoding.Latin1.GetBytes(s);
        }

        /// <summary>Parses a summary op's output (a scalar or any string NDArray: the values of all elements are concatenated).</summary>
        public static ProtoSummary Parse(NDArray value)
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.DType != DType.String) throw new ArgumentException($"a summary is a string tensor, got {value.DType.Name()}");
            var s = new ProtoSummary();
            foreach (string str in value.AsSpan<string>()) s.Value.Add(ProtoSummary.Parser.ParseFrom(ToBytes(str)).Value);
            return s;
        }
    }

    /// <summary>Image conversions shared by the image summary op and <see cref="SummaryValues"/>.</summary>
    public static class ImageEncoding
    {
        /// <summary>TensorFlow's float image normalisation, per image: all values ≥ 0 → scaled so the largest is 255;
        /// any negative → scaled so the largest magnitude is 127 and shifted by 128; non-finite pixels become red
        /// (255, 0, 0, 255 truncated to the channel count). Values are truncated to bytes.</summary>
        public static void NormalizeFloatImage(ReadOnlySpan<double> image, int channels, Span<byte> dst)
        {
            double min = double.PositiveInfinity, max = double.NegativeInfinity;
            foreach (double v in image)
            {
                if (!double.IsFinite(v)) continue;
                if (v < min) min = v;
                if (v > max) max = v;
            }
            if (double.IsPositiveInfinity(min)) { min = 0; max = 0; }
            const float zero = 1e-6f;
            float scale, offset;
            if (min < 0)
            {
                float maxVal = (float)Math.Max(Math.Abs(min), Math.Abs(max));
                scale = maxVal < zero ? 0f : 127f / maxVal;
                offset = 128f;
            }
            else
            {
                scale = (float)max < zero ? 0f : 255f / (float)max;
                offset = 0f;
            }
            ReadOnlySpan<byte> bad = [255, 0, 0, 255];
            for (int p = 0; p < image.Length; p += channels)
            {
                bool finite = true;
                for (int k = 0; k < channels; k++) finite &= double.IsFinite(image[p + k]);
                for (int k = 0; k < channels; k++)
                    dst[p + k] = finite ? (byte)Math.Clamp((float)image[p + k] * scale + offset, 0f, 255f) : bad[k];
            }
        }
    }
}

namespace GraphDl
{
    /// <summary>Builders for summary ops. Each adds its op to the <see cref="GraphKeys.Summaries"/> collection.</summary>
    public static class SummaryBuilders
    {
        /// <summary>A legacy scalar summary of a scalar tensor (TF1's <c>tf.summary.scalar</c>); outputs serialized <c>Summary</c> bytes.</summary>
        public static Tensor ScalarSummary(this Graph g, string tag, Tensor value, string[]? collections = null)
        {
            if (value.Shape.HasRank && value.Shape.Rank != 0)
                throw new GraphBuildException($"ScalarSummary '{tag}': value must be a scalar, got shape {value.Shape}{CallSite.Describe()}");
            return Build(g, tag, collections, scope => g.Add1(SummaryOps.ScalarSummary,
                [g.Const(NDArray.Scalar(tag), "tags"), value], new Attrs { ["T"] = value.DType }, scope));
        }

        /// <summary>A legacy histogram summary of every element of <paramref name="values"/> (TF1's <c>tf.summary.histogram</c>).</summary>
        public static Tensor HistogramSummary(this Graph g, string tag, Tensor values, string[]? collections = null) =>
            Build(g, tag, collections, scope => g.Add1(SummaryOps.HistogramSummary,
                [g.Const(NDArray.Scalar(tag), "tag"), values], new Attrs { ["T"] = values.DType }, scope));

        /// <summary>A legacy image summary of <c>[batch, h, w, c]</c> images (uint8, or floats normalised as TensorFlow does);
        /// at most <paramref name="maxOutputs"/> images, tagged <c>tag/image/i</c> (<c>tag/image</c> when maxOutputs is 1).</summary>
        public static Tensor ImageSummary(this Graph g, string tag, Tensor images, int maxOutputs = 3, string[]? collections = null) =>
            Build(g, tag, collections, scope => g.Add1(SummaryOps.ImageSummary,
                [g.Const(NDArray.Scalar(tag), "tag"), images], new Attrs { ["T"] = images.DType, ["max_images"] = maxOutputs }, scope));

        /// <summary>A text summary (TF1's <c>tf.summary.text</c>): a string tensor of any shape for the text plugin, as Markdown.</summary>
        public static Tensor TextSummary(this Graph g, string tag, Tensor text, string[]? collections = null)
        {
            if (text.DType != DType.String)
                throw new GraphBuildException($"TextSummary '{tag}': text must be a string tensor, got {text.DType.Name()}{CallSite.Describe()}");
            var meta = new SummaryMetadata { PluginData = new SummaryMetadata.Types.PluginData { PluginName = "text" } };
            return Build(g, tag, collections, scope => g.Add1(SummaryOps.TensorSummaryV2,
                [g.Const(NDArray.Scalar(tag), "tag"), text, g.Const(NDArray.Scalar(SummaryBytes.ToString(meta.ToByteArray())), "serialized_summary_metadata")],
                new Attrs { ["T"] = DType.String }, scope));
        }

        /// <summary>Merges serialized summaries into one (TF1's <c>tf.summary.merge</c>); not added to any collection.</summary>
        public static Tensor MergeSummary(this Graph g, IEnumerable<Tensor> summaries, string? name = null)
        {
            var inputs = summaries.ToArray();
            if (inputs.Length == 0) throw new GraphBuildException($"MergeSummary: no summaries to merge{CallSite.Describe()}");
            return g.Add1(SummaryOps.MergeSummary, inputs, new Attrs { ["N"] = inputs.Length }, name ?? "Merge/MergeSummary");
        }

        /// <summary>Merges every summary of the <see cref="GraphKeys.Summaries"/> collection (TF1's <c>tf.summary.merge_all</c>);
        /// null when the collection is empty.</summary>
        public static Tensor? MergeAllSummaries(this Graph g, string key = GraphKeys.Summaries)
        {
            var all = g.GetCollection<Tensor>(key);
            return all.Count == 0 ? null : g.MergeSummary(all);
        }

        /// <summary>Opens the tag's scope (unique: <c>loss</c>, then <c>loss_1</c>) and has <paramref name="add"/> create the
        /// summary op named by the scope itself, so the node is <c>loss</c> and its helpers <c>loss/tags</c> (TF1's layout).</summary>
        static Tensor Build(Graph g, string tag, string[]? collections, Func<string, Tensor> add)
        {
            ArgumentException.ThrowIfNullOrEmpty(tag);
            Tensor t;
            using (g.NameScope(ScopeName(tag))) t = add(g.CurrentScope);
            foreach (string key in collections ?? [GraphKeys.Summaries]) g.AddToCollection(key, t);
            return t;
        }

        /// <summary>A tag turned into a valid node name: characters outside <c>[A-Za-z0-9_./-]</c> become '_' (TF1's rule), and
        /// '-' too (not allowed in node names).</summary>
        static string ScopeName(string tag)
        {
            var sb = new StringBuilder(tag.Length);
            foreach (char ch in tag.Trim('/')) sb.Append(char.IsAsciiLetterOrDigit(ch) || ch is '_' or '.' or '/' ? ch : '_');
            if (sb.Length == 0 || !(char.IsAsciiLetterOrDigit(sb[0]) || sb[0] == '.')) sb.Insert(0, "summary_");
            return sb.ToString().Replace("//", "/", StringComparison.Ordinal);
        }
    }
}
